import { UserError } from "../model/errors.js";
import type { ServiceContext } from "./context.js";

// Fine-tuned models by name, as OpenAI's API names them: `ft:<base model name>:<suffix or run id>`, one for each
// SUCCEEDED run that produced an adapter, served as the base model plus that adapter.

const PREFIX = "ft:";

export interface FineTunedModel {
  name: string;
  runId: string;
  adapterId: string;
  baseModelId: string;
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
    baseModelId: r.baseModelId,
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
  return { name, runId: run.id, adapterId: run.adapter.id, baseModelId: run.baseModelId, baseModelName: baseName, createdAt: run.finishedAt ?? run.updatedAt };
}

/**
 * What serves a fine-tuned model: its base model plus its run's adapter, chosen per request (multi-LoRA: no merge, no
 * export). A request that names a fine-tuned model cannot pick another adapter.
 */
export async function servedAs(ctx: ServiceContext, name: string, adapterId?: string | null): Promise<{ modelId: string; adapterId: string }> {
  if (adapterId) {
    throw new UserError(`adapterId: ${name} is a fine-tuned model with its own adapter; name its base model to choose another adapter`, { field: "adapterId" });
  }
  const model = await getFineTuned(ctx, name);
  return { modelId: model.baseModelId, adapterId: model.adapterId };
}
