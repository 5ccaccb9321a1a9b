import type { PhiConfig } from "./config.js";
import { expectedTensors, writeCheckpoint, type WrittenCheckpoint } from "./checkpoint.js";
import type { FloatDtype } from "./dtype.js";
import { UserError } from "./errors.js";
import { writeIntoEmptyDir } from "./out-dir.js";
import { Rng } from "./random.js";
import { elementCount } from "./safetensors.js";

/**
 * A freshly initialised tensor as HF's PhiPreTrainedModel._init_weights makes it: LayerNorm weight 1 and bias 0,
 * Linear and Embedding weights normal(0, initializer_range), Linear biases 0. The values depend only on
 * (seed, name), so any tensor can be regenerated on its own, in any order.
 */
export function initialTensor(config: PhiConfig, name: string, shape: readonly number[], seed: number): Float32Array {
  const out = new Float32Array(elementCount(shape));
  if (name.endsWith("layernorm.weight")) return out.fill(1);
  if (name.endsWith(".bias")) return out;
  return new Rng(seed, name).fillNormal(out, config.initializer_range);
}

export interface InitModelOptions {
  config: PhiConfig;
  out: string;
  seed: number;
  dtype: FloatDtype;
  maxShardBytes?: number;
}

/** Write a randomly initialised HF checkpoint with the built-in tokenizer into `out` (absent or empty; left so when it fails). */
export async function initModel(opts: InitModelOptions): Promise<WrittenCheckpoint> {
  if (!Number.isSafeInteger(opts.seed)) throw new UserError(`seed must be an integer, got ${opts.seed}`);
  const shapes = new Map(expectedTensors(opts.config).map((t) => [t.name, t.shape]));
  return writeIntoEmptyDir(opts.out, () => writeCheckpoint(
    opts.out,
    opts.config,
    async (name) => initialTensor(opts.config, name, shapes.get(name)!, opts.seed),
    { dtype: opts.dtype, maxShardBytes: opts.maxShardBytes },
  ));
}
