import { presetConfig, type PhiConfig } from "../../../src/model/config.js";
import { expectedTensors } from "../../../src/model/checkpoint.js";
import { initialTensor } from "../../../src/model/init.js";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { PhiModel } from "../../../src/backends/tfjs/phi.js";

/** A small Phi with odd sizes and weights large enough for gradients to matter. */
export function tinyConfig(overrides: Record<string, unknown> = {}): PhiConfig {
  return presetConfig("tiny", {
    vocab_size: 97, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
    max_position_embeddings: 64, initializer_range: 0.2, ...overrides,
  });
}

export async function tinyModel(config: PhiConfig, seed = 1, quant: "none" | "nf4" = "none"): Promise<PhiModel> {
  await initEngine();
  const shapes = new Map(expectedTensors(config).map((t) => [t.name, t.shape]));
  return PhiModel.load(config, async (name) => {
    const t = initialTensor(config, name, shapes.get(name)!, seed);
    // non-trivial layer norms and biases, so every part of the layer is exercised
    if (name.endsWith(".bias") || name.endsWith("layernorm.weight")) {
      const noise = initialTensor(config, name + ".weight", shapes.get(name)!, seed);
      for (let i = 0; i < t.length; i++) t[i] += noise[i];
    }
    return t;
  }, { quant });
}
