import { readFile } from "node:fs/promises";
import { UserError } from "./errors.js";

/** HF `PhiConfig` as written in config.json (field names and defaults from transformers' configuration_phi.py). */
export interface PhiConfig {
  model_type: "phi";
  architectures: string[];
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  resid_pdrop: number;
  embd_pdrop: number;
  attention_dropout: number;
  hidden_act: "gelu_new";
  max_position_embeddings: number;
  initializer_range: number;
  layer_norm_eps: number;
  use_cache: boolean;
  tie_word_embeddings: boolean;
  rope_theta: number;
  rope_scaling: null;
  partial_rotary_factor: number;
  qk_layernorm: boolean;
  bos_token_id: number;
  eos_token_id: number;
  torch_dtype?: "float32" | "float16" | "bfloat16";
}

export const HF_DEFAULTS: PhiConfig = {
  model_type: "phi",
  architectures: ["PhiForCausalLM"],
  vocab_size: 51200,
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 24,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  resid_pdrop: 0.0,
  embd_pdrop: 0.0,
  attention_dropout: 0.0,
  hidden_act: "gelu_new",
  max_position_embeddings: 2048,
  initializer_range: 0.02,
  layer_norm_eps: 1e-5,
  use_cache: true,
  tie_word_embeddings: false,
  rope_theta: 10000.0,
  rope_scaling: null,
  partial_rotary_factor: 0.5,
  qk_layernorm: false,
  bos_token_id: 50256,
  eos_token_id: 50256,
};

export const PRESET_NAMES = ["tiny", "phi-1", "phi-1_5", "phi-2"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Published sizes of microsoft/phi-1, phi-1_5 and phi-2; `tiny` is ours, for demos and tests. */
const PRESETS: Record<PresetName, Partial<PhiConfig>> = {
  "phi-1": { vocab_size: 51200, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 24, num_attention_heads: 32, partial_rotary_factor: 0.5 },
  "phi-1_5": { vocab_size: 51200, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 24, num_attention_heads: 32, partial_rotary_factor: 0.5 },
  "phi-2": { vocab_size: 51200, hidden_size: 2560, intermediate_size: 10240, num_hidden_layers: 32, num_attention_heads: 32, partial_rotary_factor: 0.4 },
  // the real tokenizer's vocabulary (51200 rows) with a small body: 4 heads of 16, 8 rotary dims
  tiny: { vocab_size: 51200, hidden_size: 64, intermediate_size: 256, num_hidden_layers: 2, num_attention_heads: 4, partial_rotary_factor: 0.5, max_position_embeddings: 512 },
};

export function presetConfig(name: string, overrides: Record<string, unknown> = {}): PhiConfig {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`unknown preset "${name}": expected one of ${PRESET_NAMES.join(", ")}`);
  }
  const preset = PRESETS[name as PresetName];
  const merged = { ...HF_DEFAULTS, ...preset, ...overrides } as Record<string, unknown>;
  if (!("num_key_value_heads" in overrides)) merged.num_key_value_heads = merged.num_attention_heads;
  return validateConfig(merged, `preset ${name}`);
}

export function headDim(c: PhiConfig): number {
  return c.hidden_size / c.num_attention_heads;
}

/** Rotary dims as HF computes them: int(head_dim * partial_rotary_factor). */
export function rotaryDim(c: PhiConfig): number {
  return Math.floor(headDim(c) * c.partial_rotary_factor);
}

/** Parameter count of PhiForCausalLM with these sizes (phi-2: 2,779,683,840). */
export function parameterCount(c: PhiConfig): number {
  const h = c.hidden_size, m = c.intermediate_size, v = c.vocab_size;
  const kv = c.num_key_value_heads * headDim(c);
  const attn = h * h + h + 2 * (h * kv + kv) + h * h + h;
  const mlp = h * m + m + m * h + h;
  const layer = 2 * h + attn + mlp;
  const head = c.tie_word_embeddings ? v : v * h + v;
  return v * h + c.num_hidden_layers * layer + 2 * h + head;
}

const POSITIVE_INTS = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "max_position_embeddings"] as const;

/** Fill HF defaults and reject what this implementation of the architecture cannot run, naming the field. */
export function validateConfig(raw: Record<string, unknown>, source: string): PhiConfig {
  if (raw.model_type !== undefined && raw.model_type !== "phi") {
    const hint = raw.model_type === "phi-msft" || raw.model_type === "mixformer-sequential"
      ? " (this is the older remote-code layout; use a checkpoint converted to transformers' PhiForCausalLM)"
      : "";
    throw new UserError(`${source}: model_type "${String(raw.model_type)}" is not supported: expected "phi"${hint}`);
  }
  const c = { ...HF_DEFAULTS, ...raw } as PhiConfig;
  if (raw.num_key_value_heads === undefined || raw.num_key_value_heads === null) c.num_key_value_heads = c.num_attention_heads;
  for (const f of POSITIVE_INTS) {
    if (!Number.isInteger(c[f]) || c[f] < 1) throw new UserError(`${source}: ${f} must be a positive integer, got ${JSON.stringify(raw[f])}`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new UserError(`${source}: hidden_size (${c.hidden_size}) must be divisible by num_attention_heads (${c.num_attention_heads})`);
  }
  if (c.num_key_value_heads !== c.num_attention_heads) {
    throw new UserError(`${source}: num_key_value_heads (${c.num_key_value_heads}) must equal num_attention_heads (${c.num_attention_heads}): grouped-query attention is not implemented for Phi`);
  }
  if (!(c.partial_rotary_factor > 0 && c.partial_rotary_factor <= 1)) {
    throw new UserError(`${source}: partial_rotary_factor must be in (0, 1], got ${JSON.stringify(raw.partial_rotary_factor)}`);
  }
  const rot = rotaryDim(c);
  if (rot < 2 || rot % 2 !== 0) {
    throw new UserError(`${source}: partial_rotary_factor ${c.partial_rotary_factor} gives ${rot} rotary dims of head_dim ${headDim(c)}: must be even and at least 2`);
  }
  if (c.qk_layernorm) throw new UserError(`${source}: qk_layernorm: true is not implemented`);
  if (c.hidden_act !== "gelu_new") throw new UserError(`${source}: hidden_act "${String(c.hidden_act)}" is not supported: expected "gelu_new"`);
  if (c.rope_scaling !== null && c.rope_scaling !== undefined) throw new UserError(`${source}: rope_scaling is not supported`);
  if (!(c.layer_norm_eps > 0)) throw new UserError(`${source}: layer_norm_eps must be > 0`);
  if (!(c.rope_theta > 0)) throw new UserError(`${source}: rope_theta must be > 0`);
  return c;
}

export async function readConfig(path: string): Promise<PhiConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UserError(`${path}: cannot read config.json`, "NOT_FOUND");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new UserError(`${path}: expected a JSON object`);
  return validateConfig(raw as Record<string, unknown>, path);
}
