import { describe, expect, it } from "vitest";
import {
  dequantizeBlockwise8, dequantizeNf4, dequantizeNf4Transposed, dynamicMap, NF4_CODE, nf4Absmax, nf4Bytes, nf4Index,
  quantizeBlockwise8, quantizeNf4,
} from "../../../src/model/nf4.js";
import { normals } from "../tfjs/reference.js";

const randn = (n: number, seed: number, scale = 1) => {
  const rnd = normals(seed);
  return Float32Array.from({ length: n }, () => scale * rnd());
};

// largest distance from a value in [-1, 1] to its nearest NF4 code: half the widest gap (-1 .. -0.696)
const NF4_HALF_GAP = Math.max(...Array.from(NF4_CODE.subarray(1), (c, i) => (c - NF4_CODE[i]) / 2));

describe("NF4", () => {
  it("maps each code value, scaled by the block's absmax, back to its own code, even element in the high nibble", () => {
    // a block of 16 exact codes times absmax 2.5: codes 0..15 in order, so bytes 0x01, 0x23, ..., 0xEF
    const block = Float32Array.from(NF4_CODE, (c) => c * 2.5);
    const q = quantizeNf4(block, [16], { doubleQuant: false });
    expect(Array.from(q.packed)).toEqual([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
    expect(Array.from(q.absmax!)).toEqual([2.5]);
    expect(Array.from(dequantizeNf4(q))).toEqual(Array.from(block));
  });

  it("picks the nearest code, the lower one at an exact midpoint, and handles odd lengths and zero blocks", () => {
    expect(nf4Index(0.03)).toBe(7);
    expect(nf4Index(0.05)).toBe(8);
    expect(nf4Index(Math.fround((0 + 0.07958029955625534) / 2))).toBe(7);
    expect(nf4Index(-0.95)).toBe(0);
    expect(nf4Index(0.9)).toBe(15);
    // 65 values: a second block holding one value, and a zero block
    const x = new Float32Array(129);
    x[0] = -4; x[1] = 1; x[64] = 3;
    const q = quantizeNf4(x, [129], { doubleQuant: false });
    expect(q.packed.length).toBe(65);
    expect(q.packed[0]).toBe((0 << 4) | nf4Index(1 / 4));
    expect(Array.from(q.absmax!)).toEqual([4, 3, 0]);
    const back = dequantizeNf4(q);
    expect(back[0]).toBe(-4);
    expect(back[64]).toBe(3);
    expect(back.subarray(65).every((v) => v === 0)).toBe(true);
  });

  it("keeps every dequantized value within half a code gap of the original (times the block absmax)", () => {
    const x = randn(64 * 50 + 7, 1, 0.02);
    const q = quantizeNf4(x, [x.length], { doubleQuant: false });
    const back = dequantizeNf4(q);
    let sq = 0, ref = 0;
    for (let j = 0; j < x.length; j++) {
      const absmax = q.absmax![Math.floor(j / 64)];
      expect(Math.abs(back[j] - x[j])).toBeLessThanOrEqual(absmax * NF4_HALF_GAP * (1 + 1e-6));
      sq += (back[j] - x[j]) ** 2;
      ref += x[j] ** 2;
    }
    // NF4 on normal data: about 10 % relative RMS error
    expect(Math.sqrt(sq / ref)).toBeLessThan(0.12);
    expect(Math.sqrt(sq / ref)).toBeGreaterThan(0.05);
  });

  it("double-quantizes the absmax (8-bit, blocks of 256, mean offset) with a small round-trip error and fewer bytes", () => {
    const n = 64 * 600;
    const x = randn(n, 2, 0.05);
    const plain = quantizeNf4(x, [n], { doubleQuant: false });
    const dq = quantizeNf4(x, [n]);
    expect(dq.absmax).toBeNull();
    expect(dq.doubleQuant!.codes.length).toBe(600);
    expect(dq.doubleQuant!.absmax.length).toBe(3);
    // same 4-bit codes; only the constants are coarser
    expect(Array.from(dq.packed)).toEqual(Array.from(plain.packed));
    const exact = plain.absmax!, approx = nf4Absmax(dq);
    let maxRel = 0;
    for (let b = 0; b < 600; b++) maxRel = Math.max(maxRel, Math.abs(approx[b] - exact[b]) / exact[b]);
    expect(maxRel).toBeLessThan(0.02);
    expect(maxRel).toBeGreaterThan(0);
    expect(nf4Bytes(dq) / n).toBeLessThan(0.52);
    expect(nf4Bytes(plain) / n).toBeCloseTo(0.5625, 6);
  });

  it("dequantizes a 2-D weight straight into its transpose", () => {
    const [rows, cols] = [37, 70];
    const x = randn(rows * cols, 3);
    const q = quantizeNf4(x, [rows, cols]);
    const plain = dequantizeNf4(q), t = dequantizeNf4Transposed(q);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expect(t[c * rows + r]).toBe(plain[r * cols + c]);
  });
});

describe("bitsandbytes dynamic map and blockwise 8-bit quantization", () => {
  it("builds create_dynamic_map: 256 sorted values, 0 and 1 present, signed symmetric below 1", () => {
    const s = dynamicMap(true), u = dynamicMap(false);
    for (const m of [s, u]) {
      expect(m.length).toBe(256);
      for (let i = 1; i < 256; i++) expect(m[i]).toBeGreaterThanOrEqual(m[i - 1]);
      expect(m[255]).toBe(1);
      expect(m.includes(0)).toBe(true);
    }
    expect(u[0]).toBe(0);
    // signed: 127 magnitudes each side, largest (0.9859375 + 1) / 2, smallest 10^-6 · 0.55
    expect(s[0]).toBeCloseTo(-0.99296875, 6);
    expect(s.filter((v) => v < 0).length).toBe(127);
    expect(s[128]).toBeCloseTo(0.55e-6, 12);
    expect(u.filter((v) => v > 0).length).toBe(255);
  });

  it("round-trips blockwise within half the widest map gap times the block absmax", () => {
    const map = dynamicMap(true);
    let gap = 0;
    for (let i = 1; i < 256; i++) gap = Math.max(gap, map[i] - map[i - 1]);
    const x = randn(256 * 4 + 9, 4);
    const q = quantizeBlockwise8(x, map, 256);
    expect(q.absmax.length).toBe(5);
    const back = dequantizeBlockwise8(q, map);
    for (let j = 0; j < x.length; j++) {
      expect(Math.abs(back[j] - x[j])).toBeLessThanOrEqual((q.absmax[Math.floor(j / 256)] * gap) / 2 + 1e-7);
    }
  });
});
