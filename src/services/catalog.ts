import { UserError } from "../model/errors.js";
import type { ServiceContext } from "./context.js";
import { checkPageSize, PAGE_LIMITS } from "./paging.js";
import type { AdapterRecord, BaseModelRecord, DatasetRecord, GenerationRecord, MergedModelRecord, RunRecord } from "./records.js";

// Listings and lookups of what is stored: models, datasets, runs, adapters, merged models, generations.
// The `...ById` functions take many ids at once (the per-request loaders batch into them); a missing id is absent.

const NEWEST_FIRST = { orderBy: { createdAt: "desc" } } as const;

export function listModels(ctx: ServiceContext): Promise<BaseModelRecord[]> {
  return ctx.prisma.baseModel.findMany(NEWEST_FIRST);
}

export function listDatasets(ctx: ServiceContext): Promise<DatasetRecord[]> {
  return ctx.prisma.dataset.findMany(NEWEST_FIRST);
}

export function listAdapters(ctx: ServiceContext): Promise<AdapterRecord[]> {
  return ctx.prisma.adapter.findMany(NEWEST_FIRST);
}

export function listMergedModels(ctx: ServiceContext): Promise<MergedModelRecord[]> {
  return ctx.prisma.mergedModel.findMany(NEWEST_FIRST);
}

export async function getMergedModel(ctx: ServiceContext, id: string): Promise<MergedModelRecord> {
  const m = await ctx.prisma.mergedModel.findUnique({ where: { id } });
  if (!m) throw new UserError(`no merged model ${id}`, "NOT_FOUND");
  return m;
}

/** The latest `last` generations, newest first. */
export function listGenerations(ctx: ServiceContext, last: number): Promise<GenerationRecord[]> {
  checkPageSize("last", last, PAGE_LIMITS.generations);
  return ctx.prisma.generation.findMany({ ...NEWEST_FIRST, take: last });
}

export function modelsById(ctx: ServiceContext, ids: readonly string[]): Promise<BaseModelRecord[]> {
  return ctx.prisma.baseModel.findMany({ where: { id: { in: [...ids] } } });
}

export function datasetsById(ctx: ServiceContext, ids: readonly string[]): Promise<DatasetRecord[]> {
  return ctx.prisma.dataset.findMany({ where: { id: { in: [...ids] } } });
}

export function runsById(ctx: ServiceContext, ids: readonly string[]): Promise<RunRecord[]> {
  return ctx.prisma.trainingRun.findMany({ where: { id: { in: [...ids] } } });
}

export function adaptersById(ctx: ServiceContext, ids: readonly string[]): Promise<AdapterRecord[]> {
  return ctx.prisma.adapter.findMany({ where: { id: { in: [...ids] } } });
}

/** The adapters trained by these runs (at most one each). */
export function adaptersByRun(ctx: ServiceContext, runIds: readonly string[]): Promise<AdapterRecord[]> {
  return ctx.prisma.adapter.findMany({ where: { runId: { in: [...runIds] } } });
}

export function mergedModelsById(ctx: ServiceContext, ids: readonly string[]): Promise<MergedModelRecord[]> {
  return ctx.prisma.mergedModel.findMany({ where: { id: { in: [...ids] } } });
}
