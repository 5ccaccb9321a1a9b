import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../model/errors.js";
import type { ServiceContext } from "./context.js";
import { mergeAdapter } from "./merges.js";

// Fine-tuned models by name, as OpenAI's API names them: `ft:<base model name>:<suffix or run id>`, one for each
// SUCCEEDED run that produced an adapter. Until requests can carry their adapter, such a model is served through a
// merged model of that adapter (fp32), merged on first use.

const PREFIX = "ft:";
const MERGE_POLL_MS = 250;
// requests of one process that arrive together for a model with no merge yet start one merge, not one each
const choosing = new Map<string, Promise<{ id: string; ready: boolean }>>();

export interface FineTunedModel {
  name: string;
  runId: string;
  adapterId: string;
  baseModelName: string;
  createdAt: Date;
}

export function isFineTunedName(id: string): boolean {
  return id.startsWith(PREFIX);
}

export function fineTunedName(baseModelName: string, run: { id: string; suffix: string | null }): string {
  return `${PREFIX}${baseModelName}:${run.suffix ?? run.id}`;
}

/** A suffix names a model: 1-64 letters, digits, `.`, `_`, `-` (no `:`, which separates the name's parts). */
export function checkSuffix(suffix: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(suffix)) {
    throw new UserError(`suffix must be 1-64 letters, digits, ".", "_" or "-" (starting with a letter or digit), got ${JSON.stringify(suffix)}`, { field: "suffix" });
  }
}

/** Every fine-tuned model there is, newest first (the runs' finish times). */
export async function listFineTuned(ctx: ServiceContext): Promise<FineTunedModel[]> {
  const runs = await ctx.prisma.trainingRun.findMany({
    where: { status: "SUCCEEDED", adapter: { isNot: null } },
    include: { baseModel: { select: { name: true } }, adapter: { select: { id: true } } },
    orderBy: [{ finishedAt: "desc" }, { id: "desc" }],
  });
  return runs.map((r) => ({
    name: fineTunedName(r.baseModel.name, r),
    runId: r.id,
    adapterId: r.adapter!.id,
    baseModelName: r.baseModel.name,
    createdAt: r.finishedAt ?? r.updatedAt,
  }));
}

/** The fine-tuned model of this name; NOT_FOUND naming it otherwise (and why, when its run is not done). */
export async function getFineTuned(ctx: ServiceContext, name: string): Promise<FineTunedModel> {
  const rest = name.slice(PREFIX.length);
  const colon = rest.indexOf(":");
  const [baseName, tail] = colon < 0 ? [rest, ""] : [rest.slice(0, colon), rest.slice(colon + 1)];
  const named = { baseModel: { name: baseName }, OR: [{ suffix: tail }, { id: tail, suffix: null }] };
  // one suffix may also name earlier runs that failed: the succeeded one is the model
  const run =
    (await ctx.prisma.trainingRun.findFirst({ where: { ...named, status: "SUCCEEDED" }, include: { adapter: { select: { id: true } } }, orderBy: { createdAt: "desc" } })) ??
    (await ctx.prisma.trainingRun.findFirst({ where: named, include: { adapter: { select: { id: true } } }, orderBy: { createdAt: "desc" } }));
  if (!run) throw new UserError(`model: no fine-tuned model ${name} (names are ft:<base model name>:<suffix or job's run id>)`, { code: "NOT_FOUND", field: "model" });
  if (run.status !== "SUCCEEDED" || !run.adapter) {
    throw new UserError(`model: ${name} is the model of training run ${run.id}, which is ${run.status}, not SUCCEEDED`, { code: "NOT_FOUND", field: "model" });
  }
  return { name, runId: run.id, adapterId: run.adapter.id, baseModelName: baseName, createdAt: run.finishedAt ?? run.updatedAt };
}

/**
 * The id of a READY merged model that serves this fine-tuned model: an existing one, or a merge started (or joined)
 * now and waited for. The wait ends with the merge, or when `signal` aborts (the client went away).
 */
export async function servingMergedModel(ctx: ServiceContext, name: string, signal?: AbortSignal): Promise<string> {
  const model = await getFineTuned(ctx, name);
  let pending = choosing.get(model.adapterId);
  if (!pending) {
    pending = chooseMerge(ctx, model.adapterId).finally(() => choosing.delete(model.adapterId));
    choosing.set(model.adapterId, pending);
  }
  const { id, ready } = await pending;
  if (ready) return id;
  ctx.log.info({ model: name, mergedModelId: id }, "serving a fine-tuned model: waiting for its merge");
  for (;;) {
    const m = await ctx.prisma.mergedModel.findUniqueOrThrow({ where: { id } });
    if (m.status === "READY") return id;
    if (m.status === "FAILED") throw new UserError(`model: merging ${name} for serving failed: ${m.error ?? "no error recorded"}`, { code: "CONFLICT", field: "model" });
    await sleep(MERGE_POLL_MS, undefined, { signal });
  }
}

/** A READY merge of the adapter, else one under way, else a new one (fp32). */
async function chooseMerge(ctx: ServiceContext, adapterId: string): Promise<{ id: string; ready: boolean }> {
  const merges = await ctx.prisma.mergedModel.findMany({
    where: { adapterId, status: { in: ["READY", "QUEUED", "RUNNING"] } },
    orderBy: { createdAt: "asc" },
  });
  const ready = merges.find((m) => m.status === "READY");
  if (ready) return { id: ready.id, ready: true };
  return { id: merges[0]?.id ?? (await mergeAdapter(ctx, adapterId, "FP32")).id, ready: false };
}
