import type { GenerateInput } from "../../services/generations.js";
import { badParam, type ParamNames } from "./errors.js";
import { optBoolean, optNumber, optObject, optString, reqString, type Body } from "./params.js";

/** Parameters that chat and text completions share. */
export const SAMPLING_PARAMS = [
  "model", "max_tokens", "temperature", "top_p", "stop", "seed", "n", "stream", "stream_options", "user",
  "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
  // tunegraph's extension: keep the end of a prompt longer than the context instead of refusing it
  "truncate",
] as const;

/** How the generation service's fields are named on this face (its messages are renamed to these). */
export const SAMPLING_NAMES: ParamNames = { modelId: "model", maxNewTokens: "max_tokens", topP: "top_p", messages: "messages", prompt: "prompt" };

export interface Sampling {
  input: Omit<GenerateInput, "prompt" | "messages">;
  model: string;
  stream: boolean;
  includeUsage: boolean;
}

/**
 * The sampling parameters as the generation service takes them. OpenAI's defaults where ours differ: temperature 1
 * (ours: greedy). Parameters tunegraph does not implement are accepted only with their neutral value, else a 400
 * that says so (never silently ignored).
 */
export function readSampling(body: Body, maxTokens: number | undefined): Sampling {
  const model = reqString(body, "model");
  const stream = optBoolean(body, "stream") ?? false;
  const options = optObject(body, "stream_options");
  if (options && !stream) throw badParam("stream_options", "stream_options is only allowed when stream is true");
  for (const key of Object.keys(options ?? {})) {
    if (key !== "include_usage") throw badParam(`stream_options.${key}`, `Unrecognized request argument supplied: stream_options.${key}`, "unknown_parameter");
  }
  const includeUsage = options ? (optBoolean(options, "include_usage") ?? false) : false;
  if ((optNumber(body, "n", 1, 128, { int: true }) ?? 1) !== 1) throw badParam("n", "n must be 1: one choice per request");
  for (const name of ["presence_penalty", "frequency_penalty"]) {
    if ((optNumber(body, name, -2, 2) ?? 0) !== 0) throw badParam(name, `${name} is not supported: leave it unset or 0`);
  }
  const bias = optObject(body, "logit_bias");
  if (bias && Object.keys(bias).length > 0) throw badParam("logit_bias", "logit_bias is not supported: leave it unset or {}");
  if (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false && body.logprobs !== 0) {
    throw badParam("logprobs", "logprobs are not supported: leave logprobs unset");
  }
  optString(body, "user"); // an end-user id for the caller's own records: checked, not used
  const seed = optNumber(body, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, { int: true });
  const input: Sampling["input"] = {
    modelId: model,
    temperature: optNumber(body, "temperature", 0, 2) ?? 1,
    topP: optNumber(body, "top_p", 0, 1, { minExclusive: true }) ?? 1,
    stop: readStop(body),
    ...(maxTokens !== undefined ? { maxNewTokens: maxTokens } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(optBoolean(body, "truncate") ? { truncate: true } : {}),
  };
  return { input, model, stream, includeUsage };
}

/** `stop`: a string or up to four strings. */
function readStop(body: Body): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || list.length > 4 || list.some((s) => typeof s !== "string" || s === "")) {
    throw badParam("stop", "stop must be a non-empty string or a list of up to 4 non-empty strings");
  }
  return list as string[];
}
