/**
 * ggml's reference quantizers (ggml-quants.c: quantize_row_q8_0_ref, quantize_row_q4_0_ref), in float32 arithmetic
 * as the C code does it, over rows whose length is a multiple of 32. Each block of 32 values is its f16 scale d
 * followed by the quants:
 * - Q8_0 (34 bytes): d = max|x| / 127, q = round(x / d) as int8; x ≈ d·q.
 * - Q4_0 (18 bytes): d = m / -8 where m is the value of largest magnitude (sign kept), q = min(15, trunc(x / d + 8.5));
 *   byte j holds element j in its low nibble and element j + 16 in its high one; x ≈ d·(q − 8).
 */
import { encodeFloats, f32ToF16 } from "../dtype.js";
import { GGML_TYPES, type GgmlType } from "./file.js";

const QK = 32;
const f = Math.fround;

/** C's roundf: halves away from zero. */
const roundAway = (x: number) => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);

export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const blocks = x.length / QK;
  const out = new Uint8Array(blocks * GGML_TYPES.Q8_0.blockBytes);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK, o = b * GGML_TYPES.Q8_0.blockBytes;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[base + j]));
    const d = f(amax / 127), id = d !== 0 ? f(1 / d) : 0;
    view.setUint16(o, f32ToF16(d), true);
    for (let j = 0; j < QK; j++) view.setInt8(o + 2 + j, roundAway(f(x[base + j] * id)));
  }
  return out;
}

export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const blocks = x.length / QK;
  const out = new Uint8Array(blocks * GGML_TYPES.Q4_0.blockBytes);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK, o = b * GGML_TYPES.Q4_0.blockBytes;
    let amax = 0, max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[base + j];
      if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
    }
    const d = f(max / -8), id = d !== 0 ? f(1 / d) : 0;
    view.setUint16(o, f32ToF16(d), true);
    for (let j = 0; j < QK / 2; j++) {
      const lo = Math.min(15, Math.trunc(f(f(x[base + j] * id) + 8.5)));
      const hi = Math.min(15, Math.trunc(f(f(x[base + QK / 2 + j] * id) + 8.5)));
      out[o + 2 + j] = lo | (hi << 4);
    }
  }
  return out;
}

/** float32 values → the bytes of `type` (rows along the innermost dimension, already a multiple of the block size). */
export function encodeTensor(x: Float32Array, type: GgmlType): Uint8Array {
  switch (type) {
    case "F32": return encodeFloats(x, "F32");
    case "F16": return encodeFloats(x, "F16");
    case "Q8_0": return quantizeQ8_0(x);
    case "Q4_0": return quantizeQ4_0(x);
  }
}
