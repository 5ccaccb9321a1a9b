import { describe, expect, it } from "vitest";
import { activations, gradients, headGradient } from "../../../bench/lib/int8-operands.js";
import { quantizeRows, runMethods } from "../../../bench/lib/int8-sessions.js";
import { reference, relativeError, roundBf16, sampleRows, type Product } from "../../../bench/lib/product-error.js";
import { bf16ToF32, f32ToBf16 } from "../../../src/model/dtype.js";
import { Rng } from "../../../src/model/random.js";

function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

describe("bench/int8-products' references and products", () => {
  it("rounds to bfloat16 as model/dtype does, ties to even", () => {
    const x = Float32Array.from([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -3.14159, 1e-20, 65504.7, ...new Rng(1, "bf16").fillNormal(new Float32Array(100))]);
    expect(Array.from(roundBf16(x))).toEqual(Array.from(x, (v) => bf16ToF32(f32ToBf16(v))));
    expect(roundBf16(Float32Array.of(1 + 2 ** -8))[0]).toBe(1); // a tie goes to the even neighbour
  });

  it("computes the exact product in both layouts, and bf16 exactly on bf16-representable operands", () => {
    const rng = new Rng(2, "ref");
    const [m, k, n] = [5, 7, 3];
    const a = Float32Array.from({ length: m * k }, () => rng.int(9) - 4), w = Float32Array.from({ length: n * k }, () => rng.int(9) - 4);
    const rows = sampleRows(m, 3);
    expect(rows).toEqual([0, 2, 4]);
    const nt = reference({ layout: "nt", a, w, m, k, n }, rows);
    const nn = reference({ layout: "nn", a, w: transposed(w, n, k), m, k, n }, rows);
    rows.forEach((row, r) => {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < k; i++) s += a[row * k + i] * w[j * k + i];
        expect(nt.exact[r * n + j]).toBe(s);
      }
    });
    expect(Array.from(nn.exact)).toEqual(Array.from(nt.exact));
    expect(relativeError(nt, nt.bf16, n)).toBe(0); // small integers: bf16 is exact
  });

  it("measures errors against the sampled rows of a whole output", () => {
    const ref = { rows: [1], exact: Float64Array.of(3, 4), bf16: new Float32Array(2), bf16Operands: new Float32Array(2) };
    expect(relativeError(ref, Float32Array.of(9, 9, 3, 4.5), 2)).toBeCloseTo(0.1, 12); // row 1 of the whole output
    expect(relativeError(ref, Float32Array.of(3, 3.5), 2)).toBeCloseTo(0.1, 12); // the sampled row alone
  });

  it("quantizes rows symmetrically to int8", () => {
    const x = Float32Array.of(0.5, -1, 0.25, 0, 0, 0);
    const { q, scale } = quantizeRows(x, 2, 3);
    expect(Array.from(scale)).toEqual([Math.fround(1 / 127), 0]);
    expect(Array.from(q)).toEqual([64, -127, 32, 0, 0, 0]);
  });

  it("runs fp32 and int8 in both layouts: fp32 at float32 rounding, int8 at int8's", async () => {
    const [m, k, n] = [16, 64, 32];
    const w = new Rng(3, "w").fillNormal(new Float32Array(n * k), 0.02);
    const products: Product[] = [
      { layout: "nt", a: activations("ln", m, k, 4), w, m, k, n },
      { layout: "nn", a: gradients("laplace", m, n, 5), w, m, k: n, n: k },
    ];
    for (const p of products) {
      const ref = reference(p, sampleRows(p.m, p.m));
      const err = Object.fromEntries((await runMethods(p, 1)).map((r) => [r.method, relativeError(ref, r.output, p.n)]));
      expect(err.fp32).toBeLessThan(1e-6);
      for (const method of ["int8", "int8-rows"]) {
        expect(err[method]).toBeGreaterThan(relativeError(ref, ref.bf16, p.n));
        expect(err[method]).toBeLessThan(0.05);
      }
    }
  });

  it("makes the lm_head's gradient softmax − one-hot, over the tokens", () => {
    const [rows, vocab, tokens] = [3, 50, 10];
    const { dY, meanLoss } = headGradient(new Rng(6, "logits").fillNormal(new Float32Array(rows * vocab)), rows, vocab, tokens, 7);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(dY.subarray(r * vocab, (r + 1) * vocab));
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(0, 6);
      expect(row.filter((v) => v < 0)).toHaveLength(1);
      expect(Math.min(...row)).toBeGreaterThan(-1 / tokens);
    }
    expect(meanLoss).toBeGreaterThan(0);
  });
});
