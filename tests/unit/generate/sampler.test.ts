import { describe, expect, it } from "vitest";
import { Rng } from "../../../src/model/random.js";
import { Sampler, type SamplerOptions } from "../../../src/backends/onnx/sampler.js";

const opts = (o: Partial<SamplerOptions>): SamplerOptions => ({ temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, ...o });
const none = new Set<number>();

function randomLogits(v: number, seed: number): Float32Array {
  const r = new Rng(seed, "logits");
  return Float32Array.from({ length: v }, () => r.normal() * 3);
}

function counts(s: Sampler, logits: Float32Array, n: number): number[] {
  const c = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) c[s.sample(logits, none)]++;
  return c;
}

describe("Sampler", () => {
  it("is greedy at temperature 0, after the repetition penalty", () => {
    const logits = Float32Array.from([1, 5, 4.5, -2]);
    expect(new Sampler(opts({ temperature: 0 }), new Rng(1)).sample(logits, none)).toBe(1);
    // 5 / 1.2 = 4.17 < 4.5: the seen token loses
    expect(new Sampler(opts({ temperature: 0, repetitionPenalty: 1.2 }), new Rng(1)).sample(logits, new Set([1]))).toBe(2);
    // negative logits are multiplied (pushed further down), as in HF
    const neg = Float32Array.from([-1, -1.1]);
    expect(new Sampler(opts({ temperature: 0, repetitionPenalty: 2 }), new Rng(1)).sample(neg, new Set([0]))).toBe(1);
  });

  it("never emits a token outside the top k", () => {
    const logits = randomLogits(1000, 3);
    const top = new Set([...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, 5));
    const s = new Sampler(opts({ temperature: 1.5, topK: 5 }), new Rng(7));
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) seen.add(s.sample(logits, none));
    expect([...seen].every((id) => top.has(id))).toBe(true);
    expect(seen.size).toBe(5);
  });

  it("never emits a token outside the nucleus and renormalizes inside it", () => {
    const logits = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
    const c = counts(new Sampler(opts({ topP: 0.75 }), new Rng(11)), logits, 20000);
    expect(c[2] + c[3]).toBe(0);
    expect(c[0] / 20000).toBeCloseTo(0.5 / 0.8, 1);
    // top_p = 1 keeps everything; a tiny top_p keeps only the most likely token
    expect(counts(new Sampler(opts({ topP: 1 }), new Rng(11)), logits, 4000)[3]).toBeGreaterThan(0);
    expect(counts(new Sampler(opts({ topP: 0.01 }), new Rng(11)), logits, 500)[0]).toBe(500);
  });

  it("applies top-p to the top-k survivors on a large vocabulary", () => {
    const logits = randomLogits(51200, 5);
    const sorted = [...logits.keys()].sort((a, b) => logits[b] - logits[a]);
    const s = new Sampler(opts({ topK: 50, topP: 0.5, temperature: 0.7 }), new Rng(2));
    const allowed = new Set(sorted.slice(0, 50));
    for (let i = 0; i < 300; i++) expect(allowed.has(s.sample(logits, none))).toBe(true);
  });

  it("follows softmax(logits / temperature)", () => {
    const logits = Float32Array.from([2, 1, 0, -1]);
    for (const t of [0.5, 2]) {
      const e = [...logits].map((x) => Math.exp(x / t));
      const z = e.reduce((a, b) => a + b);
      const n = 40000;
      const c = counts(new Sampler(opts({ temperature: t }), new Rng(13)), logits, n);
      c.forEach((k, i) => expect(Math.abs(k / n - e[i] / z)).toBeLessThan(0.01));
    }
  });

  it("repeats itself for the same seed and not for another", () => {
    const logits = randomLogits(500, 9);
    const draw = (seed: number) => {
      const s = new Sampler(opts({ temperature: 1, topP: 0.9 }), new Rng(seed));
      return Array.from({ length: 50 }, () => s.sample(logits, none));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it("keeps exactly the tokens HF's warpers keep (temperature, then top-k, then top-p) on random logits", () => {
    for (const [seed, v, t, k, p] of [[1, 51200, 1, 0, 0.9], [2, 51200, 0.7, 50, 0.9], [3, 5000, 1.3, 0, 0.5], [4, 5000, 0.2, 0, 0.95], [5, 2000, 1, 200, 0.3], [6, 2000, 2, 0, 0.999], [7, 51200, 0.8, 0, 0.01], [8, 300, 1, 300, 0.7]] as const) {
      const logits = randomLogits(v, seed);
      const s = new Sampler(opts({ temperature: t, topK: k, topP: p }), new Rng(seed));
      const { ids, n } = s.keep(logits);
      expect(new Set(ids.subarray(0, n))).toEqual(hfKept(logits, t, k, p));
    }
  });

  it("keeps every token tied with the k-th largest, as HF's top-k does", () => {
    const logits = Float32Array.from([3, 1, 2, 2, 2, 0]);
    const { ids, n } = new Sampler(opts({ topK: 3 }), new Rng(1)).keep(logits);
    expect(new Set(ids.subarray(0, n))).toEqual(new Set([0, 2, 3, 4]));
  });
});

/**
 * HF transformers' rule, written out as its warpers state it: scores / temperature; TopKLogitsWarper removes scores
 * below the k-th largest; TopPLogitsWarper sorts ascending, takes the cumulative softmax and removes the tokens whose
 * cumulative probability is <= 1 - top_p, always keeping the most likely one.
 */
function hfKept(logits: Float32Array, temperature: number, topK: number, topP: number): Set<number> {
  const scores = Array.from(logits, (x) => x / temperature);
  if (topK > 0) {
    const kth = [...scores].sort((a, b) => b - a)[Math.min(topK, scores.length) - 1];
    scores.forEach((x, i) => x < kth && (scores[i] = -Infinity));
  }
  const max = Math.max(...scores.filter(Number.isFinite));
  const e = scores.map((x) => Math.exp(x - max));
  const z = e.reduce((a, b) => a + b, 0);
  const ascending = [...scores.keys()].sort((a, b) => scores[a] - scores[b]);
  const kept = new Set<number>();
  let cum = 0;
  ascending.forEach((id, rank) => {
    cum += e[id] / z;
    if (Number.isFinite(scores[id]) && (cum > 1 - topP || rank === ascending.length - 1)) kept.add(id);
  });
  return kept;
}
