import type { PhiConfig } from "../../src/model/config.js";
import { Rng } from "../../src/model/random.js";

/** Weights from a cheap seeded generator: a benchmark needs shapes, not a trained model. */
export function randomLoader(config: PhiConfig) {
  const rng = new Rng(1, "bench");
  return async (name: string): Promise<Float32Array> => {
    const h = config.hidden_size, m = config.intermediate_size, v = config.vocab_size;
    const n = name.includes("embed_tokens") || name === "lm_head.weight" ? v * h
      : name === "lm_head.bias" ? v
      : /fc[12]\.weight/.test(name) ? m * h
      : name.includes("fc1.bias") ? m
      : /(q_proj|k_proj|v_proj|dense)\.weight/.test(name) ? h * h
      : h;
    const out = new Float32Array(n);
    if (name.includes("layernorm.weight")) return out.fill(1);
    for (let i = 0; i < n; i++) out[i] = (rng.next() - 0.5) * 0.04;
    return out;
  };
}
