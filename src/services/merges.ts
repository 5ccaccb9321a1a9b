import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { isUserError, UserError } from "../model/errors.js";
import type { MergedModel, Precision } from "../generated/prisma/client.js";
import type { ServiceContext } from "./context.js";
import { getAdapter } from "./adapters.js";
import { confineJobInputs } from "./paths.js";

/** Queue merging an adapter into its base model and exporting the result to ONNX (fp32 or int4). */
export async function mergeAdapter(ctx: ServiceContext, adapterId: string, precision: Precision): Promise<MergedModel> {
  const adapter = await getAdapter(ctx, adapterId);
  const id = randomUUID();
  const merged = await ctx.prisma.mergedModel.create({
    data: { id, adapterId, baseModelId: adapter.baseModelId, precision, path: path.join(ctx.config.dataDir, "merged", id) },
  });
  await ctx.queue.sendMerge({ mergedModelId: merged.id });
  return merged;
}

/** The job: `<path>/hf` gets the merged HF checkpoint, `<path>/model` the ONNX export that `generate` loads. */
export async function runMergeJob(ctx: ServiceContext, mergedModelId: string): Promise<void> {
  const { prisma } = ctx;
  const { count } = await prisma.mergedModel.updateMany({ where: { id: mergedModelId, status: "QUEUED" }, data: { status: "RUNNING" } });
  if (count === 0) return;
  const merged = await prisma.mergedModel.findUniqueOrThrow({ where: { id: mergedModelId }, include: { adapter: true, baseModel: true } });
  const hfDir = path.join(merged.path, "hf");
  const modelDir = exportDir(merged.path);
  // updatedAt is the merge's heartbeat: a merge silent for staleAfterMs is failed by the sweep (run-status.ts)
  const heartbeat = setInterval(
    () => void prisma.mergedModel.updateMany({ where: { id: mergedModelId, status: "RUNNING" }, data: { status: "RUNNING" } }).catch(() => undefined),
    ctx.config.heartbeatMs,
  );
  try {
    await rm(merged.path, { recursive: true, force: true });
    await confineJobInputs(ctx.config, [merged.baseModel.path, merged.adapter.path]);
    const inference = await ctx.backends.inference();
    const { sizeBytes } = await inference.export(merged.baseModel.path, modelDir, {
      precision: merged.precision === "INT4" ? "int4" : "fp32",
      merge: { adapterDir: merged.adapter.path, mergedDir: hfDir },
    });
    await prisma.mergedModel.update({ where: { id: mergedModelId }, data: { status: "READY", sizeBytes: BigInt(sizeBytes) } });
  } catch (err) {
    if (!isUserError(err)) ctx.log.error({ err, mergedModelId }, "merge failed");
    const message = isUserError(err) ? err.message : `merge failed: ${(err as Error).message ?? String(err)}`;
    await prisma.mergedModel.update({ where: { id: mergedModelId }, data: { status: "FAILED", error: message } });
  } finally {
    clearInterval(heartbeat);
  }
}

export function exportDir(mergedPath: string): string {
  return path.join(mergedPath, "model");
}

export async function deleteMergedModel(ctx: ServiceContext, id: string): Promise<boolean> {
  const m = await ctx.prisma.mergedModel.findUnique({ where: { id } });
  if (!m) throw new UserError(`no merged model ${id}`, "NOT_FOUND");
  if (m.status === "QUEUED" || m.status === "RUNNING") throw new UserError(`merged model ${id} is ${m.status}: wait for it to finish`, "CONFLICT");
  await ctx.prisma.mergedModel.delete({ where: { id } });
  await rm(m.path, { recursive: true, force: true });
  return true;
}
