/**
 * Evaluation, as HF Trainer's `evaluate()`: the held-out sequences in order, in batches, no dropout, no gradients.
 * `eval_loss` is the mean cross-entropy over all counted eval tokens; the trainer and `tunegraph eval` both run this.
 */
import { collate } from "../../data/batcher.js";
import type { TokenizedExample } from "../../data/encode.js";
import { UserError } from "../../model/errors.js";
import { Rng } from "../../model/random.js";
import type { Example } from "../../data/types.js";
import type { EvalResult } from "../types.js";
import type { StepEngine } from "./step-engine.js";

/** null when `signal` stopped it between batches. */
export async function evaluate(
  engine: StepEngine, sequences: TokenizedExample[], batchSize: number, padTokenId: number, signal?: AbortSignal,
): Promise<EvalResult | null> {
  const started = performance.now();
  let sum = 0;
  let count = 0;
  let batches = 0;
  for (let s = 0; s < sequences.length; s += batchSize) {
    await new Promise<void>((resolve) => setImmediate(resolve)); // lets an abort message reach a worker thread
    if (signal?.aborted) return null;
    const r = await engine.evalLoss(collate(sequences.slice(s, s + batchSize), padTokenId));
    sum += r.sum;
    count += r.count;
    batches++;
  }
  const seconds = (performance.now() - started) / 1000;
  const evalLoss = count > 0 ? sum / count : Number.NaN;
  return {
    evalLoss,
    evalTokens: count,
    perplexity: Math.exp(evalLoss),
    evalRuntime: seconds,
    evalSamplesPerSecond: seconds > 0 ? sequences.length / seconds : 0,
    evalStepsPerSecond: seconds > 0 ? batches / seconds : 0,
  };
}

/**
 * `evalSplit`: a seeded share of the conversations held out for evaluation (at least one; at least one left to
 * train on). The same seed holds out the same conversations, so a resumed run evaluates on the same set.
 */
export function holdOut(examples: Example[], fraction: number, seed: number): { train: Example[]; eval: Example[] } {
  const n = Math.max(1, Math.round(examples.length * fraction));
  if (examples.length - n < 1) {
    throw new UserError(`evalSplit ${fraction}: the data has ${examples.length} conversation(s), too few to hold ${n} out and train on the rest`);
  }
  const order = new Rng(seed, "eval_split").shuffle(Array.from({ length: examples.length }, (_, i) => i));
  const held = new Set(order.slice(0, n));
  return { train: examples.filter((_, i) => !held.has(i)), eval: examples.filter((_, i) => held.has(i)) };
}
