import path from "node:path";
import { Checkpoint } from "../model/checkpoint.js";
import { parameterCount, presetConfig } from "../model/config.js";
import { UserError } from "../model/errors.js";
import { initModel as writeRandomModel } from "../model/init.js";
import { removeOutput } from "../model/out-dir.js";
import type { BaseModel } from "../generated/prisma/client.js";
import type { ServiceContext } from "./context.js";
import { assertEntriesInsideRoots, resolveInsideRoots } from "./paths.js";
import { uniqueName } from "./names.js";

/** Register an HF Phi checkpoint directory (every tensor's name and shape is checked). */
export async function registerModel(ctx: ServiceContext, name: string, dir: string): Promise<BaseModel> {
  await uniqueName(name, "name", (n) => ctx.prisma.baseModel.findUnique({ where: { name: n } }));
  const real = await resolveInsideRoots(dir, ctx.config.roots, "path");
  await assertEntriesInsideRoots(real, ctx.config.roots);
  return addModel(ctx, name, real);
}

/** Register a checkpoint directory the server itself chose (no roots check): one pulled from the Hub. */
export async function addModel(ctx: ServiceContext, name: string, real: string): Promise<BaseModel> {
  const checkpoint = await Checkpoint.open(real);
  await checkpoint.close();
  return ctx.prisma.baseModel.create({
    data: {
      name,
      path: real,
      architecture: checkpoint.config.architectures[0] ?? "PhiForCausalLM",
      parameterCount: BigInt(parameterCount(checkpoint.config)),
      config: checkpoint.config as object,
    },
  });
}

/** Write a random-weight model of a preset into `<dataDir>/models/<name>` and register it (demos, tests). */
export async function initModel(
  ctx: ServiceContext,
  preset: string,
  name: string,
  overrides: Record<string, unknown> = {},
  seed = 0,
): Promise<BaseModel> {
  await uniqueName(name, "name", (n) => ctx.prisma.baseModel.findUnique({ where: { name: n } }));
  const config = presetConfig(preset, overrides);
  const out = path.join(ctx.config.dataDir, "models", name);
  await writeRandomModel({ config, out, seed, dtype: "F32" });
  try {
    return await ctx.prisma.baseModel.create({
      data: {
        name,
        path: out,
        architecture: config.architectures[0] ?? "PhiForCausalLM",
        parameterCount: BigInt(parameterCount(config)),
        config: config as object,
        randomWeights: true,
      },
    });
  } catch (err) {
    await removeOutput(out, false).catch(() => undefined); // no row points at the files: a retry may use the name
    throw err;
  }
}

export async function getModel(ctx: ServiceContext, id: string): Promise<BaseModel> {
  const m = await ctx.prisma.baseModel.findUnique({ where: { id } });
  if (!m) throw new UserError(`no model ${id}`, "NOT_FOUND");
  return m;
}

/** A base model by id or by name (OpenAI's API names models). */
export async function findModel(ctx: ServiceContext, idOrName: string): Promise<BaseModel | null> {
  return (await ctx.prisma.baseModel.findUnique({ where: { id: idOrName } })) ?? ctx.prisma.baseModel.findUnique({ where: { name: idOrName } });
}

/** Forget a model (its files stay); refused while runs, adapters or merged models use it. */
export async function deleteModel(ctx: ServiceContext, id: string): Promise<boolean> {
  await getModel(ctx, id);
  const [runs, adapters, merged] = await Promise.all([
    ctx.prisma.trainingRun.count({ where: { baseModelId: id } }),
    ctx.prisma.adapter.count({ where: { baseModelId: id } }),
    ctx.prisma.mergedModel.count({ where: { baseModelId: id } }),
  ]);
  if (runs + adapters + merged > 0) {
    throw new UserError(`model ${id} is used by ${runs} training runs, ${adapters} adapters and ${merged} merged models: delete those first`, "CONFLICT");
  }
  await ctx.prisma.baseModel.delete({ where: { id } });
  return true;
}
