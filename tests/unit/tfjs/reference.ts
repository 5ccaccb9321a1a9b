/** Test helpers for the tfjs suite: tiny random Phi weights scaled so that attention is far from uniform. */
import type { PhiConfig } from "../../../src/model/config.js";
import { tensorShapes } from "../../helpers/phi-reference.js";
import { uniforms } from "../../helpers/random.js";

/** Deterministic normal samples (mulberry32 + Box-Muller). */
export function normals(seed: number): () => number {
  const uniform = uniforms(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Random weights scaled so that attention is far from uniform and every term matters. */
export function randomWeights(c: PhiConfig, seed: number): Map<string, Float32Array> {
  const rnd = normals(seed);
  const weights = new Map<string, Float32Array>();
  for (const [name, shape] of tensorShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length === 2 ? shape[1] : 1;
    const isNormWeight = name.endsWith("layernorm.weight");
    const std = name.includes("embed_tokens") ? 1 : shape.length === 2 ? 1.5 / Math.sqrt(fanIn) : 0.3;
    weights.set(name, Float32Array.from({ length: n }, () => (isNormWeight ? 1 : 0) + std * rnd()));
  }
  return weights;
}

export const loaderOf = (w: Map<string, Float32Array>) => async (name: string) => {
  const t = w.get(name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
};
