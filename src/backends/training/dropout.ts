/**
 * LoRA dropout masks as tfjs' `tf.dropout(x, rate, undefined, seed)` draws them, framework-free, so every engine
 * computes the same step from the trainer's seeds: u = float32(alea(String(seed))()) per element in row-major order,
 * multiplier = floor(u + keep) / keep in float32 arithmetic (keep = 1 − rate): 0 or 1/keep.
 */
import seedrandom from "seedrandom";

/** seedrandom's Alea state (its `state()` object). */
interface AleaState {
  c: number;
  s0: number;
  s1: number;
  s2: number;
}

export function dropoutMultipliers(count: number, rate: number, seed: number): Float32Array {
  // seedrandom seeds the generator; its recurrence runs inline here, the same double arithmetic as its `next`
  // (a call per element through its closure was a sixth of a mid-size onnx step)
  let { c, s0, s1, s2 } = seedrandom.alea(String(seed), { state: true }).state() as AleaState;
  const keep = Math.fround(1 - rate);
  const scale = Math.fround(1 / keep);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10; // 2^-32
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    // floor(fround(u + keep)) is 1 exactly when the float32 sum reaches 1
    if (Math.fround(Math.fround(s2) + keep) >= 1) out[i] = scale;
  }
  return out;
}
