/**
 * LoRA dropout masks as tfjs' `tf.dropout(x, rate, undefined, seed)` draws them, framework-free, so every engine
 * computes the same step from the trainer's seeds: u = float32(alea(String(seed))()) per element in row-major order,
 * multiplier = floor(u + keep) / keep in float32 arithmetic (keep = 1 − rate): 0 or 1/keep.
 */
import seedrandom from "seedrandom";

export function dropoutMultipliers(count: number, rate: number, seed: number): Float32Array {
  const random = seedrandom.alea(String(seed));
  const keep = Math.fround(1 - rate);
  const scale = Math.fround(1 / keep);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    // floor(fround(u + keep)) is 1 exactly when the float32 sum reaches 1
    if (Math.fround(Math.fround(random()) + keep) >= 1) out[i] = scale;
  }
  return out;
}
