import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { ChatMessage, GenerationRequest, GenerationResult } from "../backends/types.js";
import { fieldError, UserError } from "../model/errors.js";
import type { Adapter, Generation } from "../generated/prisma/client.js";
import type { ServiceContext } from "./context.js";
import { LimitError } from "./errors.js";
import { confineJobInputs } from "./paths.js";
import { isFineTunedName, servedAs } from "./fine-tuned.js";
import { exportDir } from "./merges.js";
import { findModel } from "./models.js";

export interface GenerateInput extends Omit<GenerationRequest, "messages" | "adapter"> {
  /**
   * a merged model's id; a base model's id or name (exported to fp32 ONNX on first use, adapter-ready); or a
   * fine-tuned model's name, `ft:<base name>:<suffix or run id>` (served as its base model plus its adapter)
   */
  modelId: string;
  /** an adapter of that base model, served unmerged (multi-LoRA) */
  adapterId?: string;
  messages?: ChatMessage[];
  /** the stored Generation's id, when the caller names it before the result exists (a stream's first chunk) */
  generationId?: string;
}

let inFlight = 0;
// one export per base model at a time in this process
const exporting = new Map<string, Promise<string>>();

/** Generate with a merged or a base model and store the Generation; `onText` receives the text as it is decoded. */
export async function generate(
  ctx: ServiceContext,
  input: GenerateInput,
  onText?: (chunk: string) => void,
  signal?: AbortSignal,
): Promise<Generation> {
  const limit = ctx.config.limits.maxNewTokens;
  if (input.maxNewTokens !== undefined && input.maxNewTokens !== null && input.maxNewTokens > limit) {
    throw new UserError(`maxNewTokens must be at most ${limit}, got ${input.maxNewTokens}`);
  }
  const { modelId, adapterId } = isFineTunedName(input.modelId) ? await servedAs(ctx, input.modelId, input.adapterId) : input;
  const target = await resolveModel(ctx, modelId);
  const adapter = adapterId ? await servedAdapter(ctx, adapterId, target) : null;
  if (inFlight >= ctx.config.limits.maxConcurrentGenerations) {
    throw new LimitError(`${inFlight} generations are running; the limit is ${ctx.config.limits.maxConcurrentGenerations}`);
  }
  inFlight++;
  try {
    const inference = await ctx.backends.inference();
    const dir = target.kind === "merged" ? target.dir : await baseExport(ctx, target.id, target.dir);
    const model = await inference.load(dir);
    const { modelId: _id, adapterId: _adapterId, generationId, ...rest } = input;
    const request: GenerationRequest = adapter ? { ...rest, adapter: adapter.path } : rest;
    const result: GenerationResult = await model.generate(request, onText, signal);
    return await ctx.prisma.generation.create({
      data: {
        ...(generationId ? { id: generationId } : {}),
        baseModelId: target.kind === "base" ? target.id : null,
        mergedModelId: target.kind === "merged" ? target.id : null,
        adapterId: adapter?.id ?? null,
        prompt: input.prompt ?? null,
        messages: input.messages ? (input.messages as object[]) : undefined,
        sampling: samplingOf(input),
        text: result.text,
        finishReason: result.finishReason,
        promptTokens: result.promptTokens,
        completionTokens: result.completionTokens,
        timeToFirstTokenMs: result.timeToFirstTokenMs,
        tokensPerSecond: result.tokensPerSecond,
      },
    });
  } finally {
    inFlight--;
  }
}

type Target = { kind: "merged" | "base"; id: string; dir: string };

async function resolveModel(ctx: ServiceContext, id: string): Promise<Target> {
  const merged = await ctx.prisma.mergedModel.findUnique({ where: { id } });
  if (merged) {
    if (merged.status !== "READY") throw new UserError(`merged model ${id} is ${merged.status}, not READY`, "CONFLICT");
    return { kind: "merged", id, dir: exportDir(merged.path) };
  }
  const base = await findModel(ctx, id);
  if (!base) throw new UserError(`modelId: no merged or base model ${id}`, "NOT_FOUND");
  return { kind: "base", id: base.id, dir: base.path };
}

/** An adapter to serve unmerged: it must belong to the base model the request names. */
async function servedAdapter(ctx: ServiceContext, id: string, target: Target): Promise<Adapter> {
  const adapter = await ctx.prisma.adapter.findUnique({ where: { id } });
  if (!adapter) throw fieldError("adapterId", `: no adapter ${id}`, "NOT_FOUND");
  if (target.kind === "merged") {
    throw fieldError("adapterId", `: adapter ${adapter.name} is served on its base model: give the base model's id (${adapter.baseModelId}) as modelId, not the merged model ${target.id}`);
  }
  if (adapter.baseModelId !== target.id) {
    throw fieldError("adapterId", `: adapter ${adapter.name} belongs to base model ${adapter.baseModelId}, not to ${target.id}`);
  }
  await confineJobInputs(ctx.config, [adapter.path]);
  return adapter;
}

/** Where a base model's adapter-ready fp32 export lives once `generate` has served it. */
export function baseExportDir(ctx: ServiceContext, id: string): string {
  return path.join(ctx.config.dataDir, "exports", `${id}.adapter-ready`);
}

/** A base model is served from its export (LoRA inputs on the configured linears), written once (atomically renamed). */
function baseExport(ctx: ServiceContext, id: string, checkpointDir: string): Promise<string> {
  const out = baseExportDir(ctx, id);
  let pending = exporting.get(id);
  if (!pending) {
    pending = (async () => {
      if (await stat(out).then(() => true, () => false)) return out;
      const tmp = `${out}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(path.dirname(out), { recursive: true });
      await confineJobInputs(ctx.config, [checkpointDir]);
      await (await ctx.backends.inference()).export(checkpointDir, tmp, { precision: "fp32", lora: ctx.config.lora });
      await rename(tmp, out).catch(async (err: NodeJS.ErrnoException) => {
        // another process finished the same export first
        if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
        await rm(tmp, { recursive: true, force: true });
      });
      return out;
    })().finally(() => exporting.delete(id));
    exporting.set(id, pending);
  }
  return pending;
}

function samplingOf(input: GenerateInput): object {
  const keys = ["maxNewTokens", "temperature", "topP", "topK", "repetitionPenalty", "seed", "stop", "truncate"] as const;
  return Object.fromEntries(keys.filter((k) => input[k] !== undefined && input[k] !== null).map((k) => [k, input[k]]));
}
