import type { WeightSource } from "../../../src/backends/onnx/export/phi-graph.js";
import type { PhiConfig } from "../../../src/model/config.js";
import { tensorShapes } from "../../helpers/phi-reference.js";
import { uniforms } from "../../helpers/random.js";

/** Seeded random Phi weights in memory (LayerNorm weights near 1, the rest uniform with standard deviation ~ std). */
export function randomWeights(c: PhiConfig, seed = 1, std = 0.05): WeightSource & { tensors: Map<string, Float32Array> } {
  const uniform = uniforms(seed);
  const tensors = new Map<string, Float32Array>();
  for (const [name, shape] of tensorShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = new Float32Array(n);
    const isNormWeight = name.includes("layernorm.weight");
    for (let i = 0; i < n; i++) t[i] = (isNormWeight ? 1 : 0) + (uniform() * 2 - 1) * std * 1.7;
    tensors.set(name, t);
  }
  return { config: c, tensors, read: async (name) => tensors.get(name)!.slice() };
}
