/**
 * The decoder's ONNX input and output names, in one place (as onnxruntime-genai's builder keeps them): those optimum
 * exports and transformers.js and onnxruntime-genai feed, plus the one output tunegraph's engine adds.
 */

export type KvKind = "key" | "value";

export const INPUT_IDS = "input_ids";
export const ATTENTION_MASK = "attention_mask";
export const POSITION_IDS = "position_ids";
export const LOGITS = "logits";

/** Input: layer i's cache so far, [batch, num_heads, past_sequence_length, head_dim]. */
export function pastName(layer: number, kind: KvKind): string {
  return `past_key_values.${layer}.${kind}`;
}

/** Output: layer i's cache with this step's tokens appended, [batch, num_heads, total_sequence_length, head_dim]. */
export function presentName(layer: number, kind: KvKind): string {
  return `present.${layer}.${kind}`;
}

/** Output the engine adds (decode-graph.ts): only this step's keys/values of `present`, [batch, num_heads, sequence_length, head_dim]. */
export function newKvName(layer: number, kind: KvKind): string {
  return `tunegraph.new.${layer}.${kind}`;
}

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;
const PRESENT = /^present\.(\d+)\.(key|value)$/;

/** Layer and kind of a `past_key_values.i.key/value` name; null for any other name. */
export function parsePastName(name: string): { layer: number; kind: KvKind } | null {
  return parseKv(PAST, name);
}

/** Layer and kind of a `present.i.key/value` name; null for any other name. */
export function parsePresentName(name: string): { layer: number; kind: KvKind } | null {
  return parseKv(PRESENT, name);
}

function parseKv(re: RegExp, name: string): { layer: number; kind: KvKind } | null {
  const m = re.exec(name);
  return m ? { layer: Number(m[1]), kind: m[2] as KvKind } : null;
}

// The training engine's graphs (backends/onnx/train): one decoder-layer forward, one backward, one loss head, shared
// by every layer, with the layer's weights and LoRA tensors as inputs. Frozen tensors keep their HF names relative to
// the layer ("input_layernorm.weight", "self_attn.q_proj.bias"; the head: "final_layernorm.weight", "lm_head.weight").

/** Layer (or head) input [tokens, hidden]; the backward graph's gradient w.r.t. it is `GRAD_PREFIX + LAYER_INPUT`. */
export const LAYER_INPUT = "hidden_states";
/** Layer output [tokens, hidden]; the backward graph takes its gradient as `GRAD_PREFIX + LAYER_OUTPUT`. */
export const LAYER_OUTPUT = "layer_output";
/** Additive causal + padding bias [batch, 1, seq, seq] and rotary tables [batch, 1, seq, rotary_dim]. */
export const ATTENTION_BIAS = "attention_bias";
export const ROTARY_COS = "rotary_cos";
export const ROTARY_SIN = "rotary_sin";
/** Loss head: per-position targets [tokens] (int64) and loss weights [tokens]; output: the weighted sum. */
export const TARGETS = "targets";
export const LOSS_WEIGHTS = "loss_weights";
export const LOSS = "loss";
export const GRAD_PREFIX = "grad.";

/**
 * Without gradient checkpointing, what the layer forward graph also outputs and the backward graph takes back: the
 * products of the frozen q_proj, k_proj (both rotated), v_proj as [batch, heads, seq, head_dim], and fc1's
 * [tokens, intermediate_size].
 */
export const SAVED_ACTIVATIONS = { query: "saved.query_states", key: "saved.key_states", value: "saved.value_states", fc1: "saved.mlp.fc1" } as const;

/** NF4 codes (uint8, two per byte) and float absmax of a frozen linear ("self_attn.q_proj"). */
export function nf4InputNames(module: string): { codes: string; absmax: string } {
  return { codes: `${module}.weight.nf4`, absmax: `${module}.weight.absmax` };
}

/** LoRA inputs of a module: Aᵀ [in, r], Bᵀ [r, out], and the dropout multipliers [tokens, in]. */
export function loraInputNames(module: string): { at: string; bt: string; dropout: string } {
  return { at: `${module}.lora_A.T`, bt: `${module}.lora_B.T`, dropout: `${module}.lora_dropout` };
}

/**
 * Inputs of an adapter-ready export (Punica / S-LoRA style: the loaded adapters stacked, each batch row picks one).
 * `lora_indices` [batch_size]: each row's slot; `lora_scales` [lora_slots]: each slot's lora_alpha / r (0 for slot 0,
 * the empty one); per targeted linear, its A of every slot transposed, [in_features, lora_slots, lora_rank], and its B
 * transposed, [lora_slots, lora_rank, out_features] (ranks padded with zeros to the largest of the stack).
 */
export const LORA_INDICES = "lora_indices";
export const LORA_SCALES = "lora_scales";

/** `model.layers.3.self_attn.q_proj.lora_A`: the stacked A of a targeted linear, named after its HF module path. */
export function loraInputName(modulePath: string, kind: "A" | "B"): string {
  return `${modulePath}.lora_${kind}`;
}

const LORA_INPUT = /^model\.layers\.(\d+)\.(?:self_attn|mlp)\.([a-z_0-9]+)\.lora_(A|B)$/;

/** Layer, module name and A/B of a stacked LoRA input name; null for any other name. */
export function parseLoraInputName(name: string): { layer: number; module: string; kind: "A" | "B" } | null {
  const m = LORA_INPUT.exec(name);
  return m ? { layer: Number(m[1]), module: m[2], kind: m[3] as "A" | "B" } : null;
}

/** Model metadata key of an adapter-ready export: {"target_modules": [...], "max_rank": n}. */
export const LORA_METADATA = "tunegraph.lora";
