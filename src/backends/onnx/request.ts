import path from "node:path";
import { renderPrompt } from "../../model/chat-template.js";
import { UserError } from "../../model/errors.js";
import type { PhiTokenizer } from "../../model/tokenizer.js";
import { DEFAULT_SAMPLING, type GenerationRequest, type SamplingOptions } from "../types.js";

export interface RequestLimits {
  contextLength: number; // max_position_embeddings of the model
  maxNewTokens: number; // the largest maxNewTokens a request may ask for
}

export interface ResolvedRequest {
  promptIds: number[];
  sampling: SamplingOptions;
  adapter: string | null; // absolute path of a PEFT adapter directory
}

const ROLES = ["system", "user", "assistant"];

/** Check every field of a request (each mistake a UserError naming the field), then render and tokenize its prompt. */
export function resolveRequest(req: GenerationRequest, tokenizer: Pick<PhiTokenizer, "encode">, limits: RequestLimits): ResolvedRequest {
  const sampling = validateSampling(req, limits);
  if (req.adapter !== undefined && req.adapter !== null && (typeof req.adapter !== "string" || req.adapter === "")) throw new UserError("adapter must be a PEFT adapter directory");
  const adapter = req.adapter ? path.resolve(req.adapter) : null;
  const hasPrompt = req.prompt !== undefined && req.prompt !== null;
  const hasMessages = req.messages !== undefined && req.messages !== null;
  if (hasPrompt === hasMessages) throw new UserError("give either prompt or messages, not both and not neither");
  let text: string;
  if (hasPrompt) {
    if (typeof req.prompt !== "string" || req.prompt.length === 0) throw new UserError("prompt must be a non-empty string");
    text = req.prompt;
  } else {
    const messages = req.messages!;
    if (!Array.isArray(messages) || messages.length === 0) throw new UserError("messages must be a non-empty list");
    messages.forEach((m, i) => {
      if (!ROLES.includes(m?.role)) throw new UserError(`messages[${i}].role must be one of ${ROLES.join(", ")}, got ${JSON.stringify(m?.role)}`);
      if (typeof m.content !== "string" || m.content.trim() === "") throw new UserError(`messages[${i}].content must be a non-empty string`);
    });
    text = renderPrompt(messages);
  }
  let promptIds = tokenizer.encode(text);
  if (promptIds.length === 0) throw new UserError("prompt encodes to no tokens");
  const ctx = limits.contextLength;
  if (req.truncate && promptIds.length + sampling.maxNewTokens > ctx) {
    promptIds = promptIds.slice(promptIds.length - Math.max(1, ctx - sampling.maxNewTokens));
  } else if (promptIds.length >= ctx) {
    throw new UserError(`prompt is ${promptIds.length} tokens, the model's context is ${ctx}: shorten it or set truncate to keep its end`);
  }
  return { promptIds, sampling, adapter };
}

function validateSampling(req: GenerationRequest, limits: RequestLimits): SamplingOptions {
  const limit = Math.min(limits.maxNewTokens, limits.contextLength - 1);
  const s: SamplingOptions = {
    maxNewTokens: req.maxNewTokens ?? Math.min(DEFAULT_SAMPLING.maxNewTokens, limit),
    temperature: req.temperature ?? DEFAULT_SAMPLING.temperature,
    topP: req.topP ?? DEFAULT_SAMPLING.topP,
    topK: req.topK ?? DEFAULT_SAMPLING.topK,
    repetitionPenalty: req.repetitionPenalty ?? DEFAULT_SAMPLING.repetitionPenalty,
    seed: req.seed ?? undefined,
    stop: req.stop ?? DEFAULT_SAMPLING.stop,
  };
  if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens <= 0 || s.maxNewTokens > limit) {
    throw new UserError(`maxNewTokens must be an integer in [1, ${limit}], got ${s.maxNewTokens}`);
  }
  if (!Number.isFinite(s.temperature) || s.temperature < 0) throw new UserError(`temperature must be >= 0, got ${s.temperature}`);
  if (!(Number.isFinite(s.topP) && s.topP > 0 && s.topP <= 1)) throw new UserError(`topP must be in (0, 1], got ${s.topP}`);
  if (!Number.isInteger(s.topK) || s.topK < 0) throw new UserError(`topK must be an integer >= 0, got ${s.topK}`);
  if (!Number.isFinite(s.repetitionPenalty) || s.repetitionPenalty <= 0) {
    throw new UserError(`repetitionPenalty must be > 0, got ${s.repetitionPenalty}`);
  }
  if (s.seed !== undefined && !Number.isSafeInteger(s.seed)) throw new UserError(`seed must be an integer, got ${s.seed}`);
  if (!Array.isArray(s.stop) || s.stop.some((x) => typeof x !== "string" || x.length === 0)) {
    throw new UserError("stop must be a list of non-empty strings");
  }
  return s;
}
