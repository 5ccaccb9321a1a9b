import { badParam } from "./errors.js";
import { complete, type CompletionShape } from "./completion.js";
import type { Route } from "./route.js";
import { optBoolean, optNumber, readBody } from "./params.js";
import { readSampling, SAMPLING_NAMES, SAMPLING_PARAMS } from "./sampling.js";

const KNOWN = [...SAMPLING_PARAMS, "prompt", "echo", "suffix", "best_of"];
// OpenAI's default for the legacy completions endpoint
const DEFAULT_MAX_TOKENS = 16;

const shape: CompletionShape = {
  idPrefix: "cmpl-",
  object: "text_completion",
  chunkObject: "text_completion",
  choice: (text, finish_reason) => ({ index: 0, text, logprobs: null, finish_reason }),
  delta: (text) => ({ index: 0, text, logprobs: null, finish_reason: null }),
  last: (finish_reason) => ({ index: 0, text: "", logprobs: null, finish_reason }),
};

/** POST /v1/completions: the prompt used exactly as given, stored as a Generation. */
export const completions: Route = async ({ services, log }, req, res) => {
  const body = readBody(req.body, KNOWN);
  const sampling = readSampling(body, optNumber(body, "max_tokens", 1, Number.MAX_SAFE_INTEGER, { int: true }) ?? DEFAULT_MAX_TOKENS);
  if (optBoolean(body, "echo")) throw badParam("echo", "echo is not supported: leave it unset or false");
  if (body.suffix !== undefined && body.suffix !== null) throw badParam("suffix", "suffix (insertion) is not supported");
  if ((optNumber(body, "best_of", 1, 20, { int: true }) ?? 1) !== 1) throw badParam("best_of", "best_of must be 1");
  await complete(services, log, res, sampling, { prompt: readPrompt(body.prompt) }, shape, SAMPLING_NAMES);
};

/** A string, or a list holding one string (token-id prompts are not taken). */
function readPrompt(v: unknown): string {
  const p = Array.isArray(v) && v.length === 1 ? v[0] : v;
  if (typeof p !== "string" || p === "") throw badParam("prompt", "prompt must be a non-empty string (or a list of one)", "missing_required_parameter");
  return p;
}
