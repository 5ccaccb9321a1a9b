import { describe, expect, it } from "vitest";
import { bf16ToF32, decodeFloats, encodeFloats, f16ToF32, f32ToBf16, f32ToF16 } from "../../../src/model/dtype.js";

describe("f16", () => {
  it("converts known values both ways", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [2 ** -14, 0x0400],
      [2 ** -24, 0x0001], [1 + 2 ** -10, 0x3c01], [0.333251953125, 0x3555], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ];
    for (const [v, bits] of cases) {
      expect(f32ToF16(v)).toBe(bits);
      expect(f16ToF32(bits)).toBe(v);
    }
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
  });

  it("round-trips every finite half exactly", () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(f32ToF16(f16ToF32(h))).toBe(h);
    }
  });

  it("rounds to nearest, ties to even, overflow to infinity", () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie, even stays
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, odd rounds up
    expect(f32ToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(f32ToF16(65520)).toBe(0x7c00);
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal
    expect(f32ToF16(2 ** -25 * 1.5)).toBe(1);
    expect(f32ToF16(3 * 2 ** -25)).toBe(2); // subnormal tie to even
    expect(f32ToF16(1e-10)).toBe(0);
  });
});

describe("bf16", () => {
  it("keeps values with 8 significant bits exactly and rounds ties to even", () => {
    for (const v of [0, 1, -1.5, 3.140625, 2 ** 100, 2 ** -130, -Infinity]) {
      const b = f32ToBf16(v);
      expect(f32ToBf16(bf16ToF32(b))).toBe(b);
    }
    expect(bf16ToF32(f32ToBf16(1.5))).toBe(1.5);
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie, even
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie, odd up
    expect(f32ToBf16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(f32ToBf16(3.4e38)).toBe(0x7f80); // rounds past the largest bf16
    expect(Number.isNaN(bf16ToF32(f32ToBf16(NaN)))).toBe(true);
  });
});

describe("bulk encode/decode", () => {
  it("round-trips representable values for each float dtype", () => {
    const src = new Float32Array([0, 1, -2, 0.5, 0.25, -0.125, 3, 1024]);
    for (const d of ["F32", "F16", "BF16"] as const) {
      const bytes = encodeFloats(src, d);
      expect(bytes.byteLength).toBe(src.length * (d === "F32" ? 4 : 2));
      expect(decodeFloats(bytes, d)).toEqual(src);
    }
  });

  it("decodes from unaligned byte views", () => {
    const bytes = new Uint8Array(9);
    new DataView(bytes.buffer).setFloat32(1, 1.25, true);
    new DataView(bytes.buffer).setFloat32(5, -3, true);
    expect([...decodeFloats(bytes.subarray(1), "F32")]).toEqual([1.25, -3]);
    new DataView(bytes.buffer).setUint16(1, 0x3c00, true);
    expect([...decodeFloats(bytes.subarray(1, 3), "F16")]).toEqual([1]);
  });

  it("decodes integer dtypes to float32", () => {
    expect([...decodeFloats(new Uint8Array(new BigInt64Array([-5n, 7n]).buffer), "I64")]).toEqual([-5, 7]);
    expect([...decodeFloats(new Uint8Array(new Int32Array([-1, 9]).buffer), "I32")]).toEqual([-1, 9]);
    expect([...decodeFloats(new Uint8Array([0, 255]), "U8")]).toEqual([0, 255]);
  });
});
