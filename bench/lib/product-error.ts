/**
 * Exact references for bench/int8-products.ts, on a sample of output rows (the error of an output row depends on its
 * own row of A and on all of W, so a sample of whole rows estimates the Frobenius error of the whole product):
 *   exact:  float64 accumulation of the float32 operands' products (every product of two float32 values is exact in
 *           float64; the sums' rounding, ~1e-16 relative, is far below every error measured against it);
 *   bf16:   PyTorch's CPU bf16 autocast emulated: both operands rounded to bfloat16 (nearest even), their products
 *           accumulated in float64 (exact: the hardware's float32 accumulation adds ~1e-7, far below bf16's
 *           rounding), the sum rounded to float32 and then to bfloat16, the dtype autocast returns.
 * A product is "nt", A [M, K] · Wᵀ with W [N, K] (a linear's forward), or "nn", A [M, K] · W with W [K, N] (its input
 * gradient dY · W).
 */
export type Layout = "nt" | "nn";

export interface Product {
  layout: Layout;
  a: Float32Array;
  w: Float32Array;
  m: number;
  k: number;
  n: number;
}

export interface Reference {
  rows: number[];
  /** rows.length × n, row-major */
  exact: Float64Array;
  bf16: Float32Array;
  /** the same without the output's rounding to bf16: the operands' share of bf16's error */
  bf16Operands: Float32Array;
}

/** bfloat16 rounding (nearest even) of every value; NaN and infinities do not occur here. */
export function roundBf16(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  const src = new Uint32Array(x.buffer, x.byteOffset, x.length), dst = new Uint32Array(out.buffer);
  for (let i = 0; i < x.length; i++) {
    const b = src[i];
    dst[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
  }
  return out;
}

/** `count` distinct rows spread over [0, m). */
export function sampleRows(m: number, count: number): number[] {
  const c = Math.min(m, count);
  return Array.from({ length: c }, (_, i) => Math.floor(((i + 0.5) * m) / c));
}

export function reference(p: Product, rows: number[], wBf16 = roundBf16(p.w)): Reference {
  const { k, n } = p;
  const exact = new Float64Array(rows.length * n), operands = new Float64Array(rows.length * n);
  const a = new Float64Array(k);
  rows.forEach((row, r) => {
    a.set(p.a.subarray(row * k, (row + 1) * k));
    const ab = Float64Array.from(roundBf16(p.a.subarray(row * k, (row + 1) * k)));
    const e = exact.subarray(r * n, (r + 1) * n), o = operands.subarray(r * n, (r + 1) * n);
    if (p.layout === "nt") {
      for (let j = 0; j < n; j++) {
        let s = 0, sb = 0;
        for (let i = 0, w = j * k; i < k; i++, w++) {
          s += a[i] * p.w[w];
          sb += ab[i] * wBf16[w];
        }
        e[j] = s;
        o[j] = sb;
      }
    } else {
      for (let i = 0; i < k; i++) {
        const x = a[i], xb = ab[i];
        if (x === 0) continue;
        for (let j = 0, w = i * n; j < n; j++, w++) {
          e[j] += x * p.w[w];
          o[j] += xb * wBf16[w];
        }
      }
    }
  });
  const bf16Operands = Float32Array.from(operands);
  return { rows, exact, bf16: roundBf16(bf16Operands), bf16Operands };
}

/** ‖approx − exact‖_F / ‖exact‖_F over the sampled rows; `approx` is either the sampled rows or the whole [m, n] output. */
export function relativeError(ref: Reference, approx: Float32Array, n: number): number {
  const whole = approx.length !== ref.exact.length;
  let diff = 0, norm = 0;
  ref.rows.forEach((row, r) => {
    const off = whole ? row * n : r * n;
    for (let j = 0; j < n; j++) {
      const e = ref.exact[r * n + j], d = approx[off + j] - e;
      diff += d * d;
      norm += e * e;
    }
  });
  return Math.sqrt(diff / norm);
}
