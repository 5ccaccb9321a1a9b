import { describe, expect, it } from "vitest";
import { f16ToF32, f32ToF16 } from "../../../src/model/dtype.js";
import { quantizeQ4_0, quantizeQ8_0 } from "../../../src/model/gguf/quants.js";
import { Rng } from "../../../src/model/random.js";

/** ggml's dequantize_row_q8_0 / dequantize_row_q4_0, written from the block layouts. */
function dequantize(bytes: Uint8Array, type: "Q8_0" | "Q4_0", n: number): Float32Array {
  const out = new Float32Array(n), view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blockBytes = type === "Q8_0" ? 34 : 18;
  for (let b = 0; b < n / 32; b++) {
    const o = b * blockBytes, d = f16ToF32(view.getUint16(o, true));
    for (let j = 0; j < 32; j++) {
      if (type === "Q8_0") out[b * 32 + j] = d * view.getInt8(o + 2 + j);
      else out[b * 32 + j] = d * ((j < 16 ? bytes[o + 2 + j] & 15 : bytes[o + 2 + j - 16] >> 4) - 8);
    }
  }
  return out;
}

describe("GGUF quantizers", () => {
  it("Q8_0: 34 bytes a block, f16 scale max|x|/127, each value within half a step (plus the f16 rounding of the scale)", () => {
    const x = new Rng(1, "q8").fillNormal(new Float32Array(32 * 64), 1);
    const q = quantizeQ8_0(x);
    expect(q.length).toBe(64 * 34);
    const y = dequantize(q, "Q8_0", x.length);
    for (let b = 0; b < 64; b++) {
      const block = x.subarray(b * 32, b * 32 + 32);
      const d = f16ToF32(f32ToF16(Math.max(...block.map(Math.abs)) / 127));
      expect(f16ToF32(new DataView(q.buffer).getUint16(b * 34, true))).toBe(d);
      for (let j = 0; j < 32; j++) expect(Math.abs(y[b * 32 + j] - block[j])).toBeLessThanOrEqual(0.5 * d + 127 * d * 2 ** -11);
    }
  });

  it("Q4_0: 18 bytes a block, the value of largest magnitude maps exactly to -8, element j+16 in the high nibble", () => {
    // a block whose largest magnitude is negative and one where it is positive; a third all zeros
    const x = new Float32Array(96);
    for (let j = 0; j < 32; j++) x[j] = (j - 12) / 10; // min -1.2, max 1.9: largest magnitude 1.9 (positive)
    for (let j = 0; j < 32; j++) x[32 + j] = -(j % 7) / 3; // largest magnitude -2
    const q = quantizeQ4_0(x);
    expect(q.length).toBe(3 * 18);
    const y = dequantize(q, "Q4_0", 96);
    // d = max / -8: the extreme value is code 0 (-8 · d = max)
    expect(y[31]).toBeCloseTo(1.9, 3);
    expect(q[2 + 15] >> 4).toBe(0);
    expect(y[32 + 6]).toBeCloseTo(-2, 3);
    for (let i = 0; i < 64; i++) expect(Math.abs(y[i] - x[i])).toBeLessThanOrEqual(0.5 * Math.abs(i < 32 ? 1.9 : 2) / 8 + 1e-3);
    expect(y.subarray(64).every((v) => v === 0)).toBe(true);
    expect([...q.subarray(38, 54)]).toEqual(new Array(16).fill(0x88)); // zeros: code 8 in both nibbles
  });
});
