/**
 * Where PhiForCausalLM keeps its weights, as transformers' modeling_phi.py names them: the one table of the six linear
 * layers of a decoder layer (what LoRA targets, NF4 quantizes and the exporter writes), their paths and sizes.
 * A module path names a layer ("model.layers.3.mlp.fc1"); its tensors are `${path}.weight` and `${path}.bias`.
 */
import type { PhiConfig } from "./config.js";

/** The linear layers of one PhiDecoderLayer in HF's order: PhiAttention's four, then PhiMLP's two. */
export const LINEAR_MODULES = ["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"] as const;
export type LinearModule = (typeof LINEAR_MODULES)[number];

/** The submodule of the decoder layer that holds each linear. */
export const MODULE_GROUP: Record<LinearModule, "self_attn" | "mlp"> = {
  q_proj: "self_attn", k_proj: "self_attn", v_proj: "self_attn", dense: "self_attn", fc1: "mlp", fc2: "mlp",
};

export function isLinearModule(name: string): name is LinearModule {
  return (LINEAR_MODULES as readonly string[]).includes(name);
}

/** "model.layers.3": the prefix of every tensor of decoder layer `layer`. */
export function layerPath(layer: number): string {
  return `model.layers.${layer}`;
}

/** HF module path of a linear: "model.layers.3.self_attn.q_proj", "model.layers.3.mlp.fc1". */
export function modulePath(layer: number, module: LinearModule): string {
  return `${layerPath(layer)}.${MODULE_GROUP[module]}.${module}`;
}

/** [in, out] features of a linear (its weight is [out, in], as nn.Linear stores it); k/v project to the KV heads. */
export function linearFeatures(c: PhiConfig, module: LinearModule): [number, number] {
  const h = c.hidden_size, kv = c.num_key_value_heads * (c.hidden_size / c.num_attention_heads);
  switch (module) {
    case "q_proj": case "dense": return [h, h];
    case "k_proj": case "v_proj": return [h, kv];
    case "fc1": return [h, c.intermediate_size];
    case "fc2": return [c.intermediate_size, h];
  }
}
