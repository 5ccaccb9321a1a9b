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

/** Integer fields and the largest value this implementation takes (well above any published Phi; each bounds an allocation). */
const INT_BOUNDS = {
  vocab_size: [1, 1 << 20],
  hidden_size: [1, 65536],
  intermediate_size: [1, 262144],
  num_hidden_layers: [1, 1024],
  num_attention_heads: [1, 4096],
  num_key_value_heads: [1, 4096],
  max_position_embeddings: [1, 1 << 20],
  bos_token_id: [0, 2 ** 31 - 1],
  eos_token_id: [0, 2 ** 31 - 1],
} as const;

/** Float fields: finite, inside [min, max] (`open`: the minimum itself excluded). */
const FLOAT_BOUNDS: Record<string, { min: number; max: number; open: boolean }> = {
  resid_pdrop: { min: 0, max: 1, open: false },
  embd_pdrop: { min: 0, max: 1, open: false },
  attention_dropout: { min: 0, max: 1, open: false },
  initializer_range: { min: 0, max: 1, open: false },
  layer_norm_eps: { min: 0, max: 1, open: true },
  rope_theta: { min: 0, max: 1e12, open: true },
  partial_rotary_factor: { min: 0, max: 1, open: true },
};

const BOOLEANS = ["use_cache", "tie_word_embeddings", "qk_layernorm"] as const;

/** One tensor is one Float32Array (and one ONNX initializer): 2³¹ values, 8 GiB as float32. */
export const MAX_TENSOR_ELEMENTS = 2 ** 31;

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
  checkFields(c, raw, source);
  const largest = Math.max(c.vocab_size * c.hidden_size, c.intermediate_size * c.hidden_size);
  if (largest > MAX_TENSOR_ELEMENTS) {
    throw new UserError(`${source}: the largest weight (vocab_size or intermediate_size × hidden_size) would hold ${largest} values, above the limit of ${MAX_TENSOR_ELEMENTS}`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new UserError(`${source}: hidden_size (${c.hidden_size}) must be divisible by num_attention_heads (${c.num_attention_heads})`);
  }
  if (c.num_key_value_heads !== c.num_attention_heads) {
    throw new UserError(`${source}: num_key_value_heads (${c.num_key_value_heads}) must equal num_attention_heads (${c.num_attention_heads}): grouped-query attention is not implemented for Phi`);
  }
  const rot = rotaryDim(c);
  if (rot < 2 || rot % 2 !== 0) {
    throw new UserError(`${source}: partial_rotary_factor ${c.partial_rotary_factor} gives ${rot} rotary dims of head_dim ${headDim(c)}: must be even and at least 2`);
  }
  if (c.max_position_embeddings * (rot / 2) > MAX_TENSOR_ELEMENTS) {
    throw new UserError(`${source}: the rotary tables (max_position_embeddings × rotary dims / 2) would hold ${c.max_position_embeddings * (rot / 2)} values, above the limit of ${MAX_TENSOR_ELEMENTS}`);
  }
  if (c.qk_layernorm) throw new UserError(`${source}: qk_layernorm: true is not implemented`);
  if (c.hidden_act !== "gelu_new") throw new UserError(`${source}: hidden_act "${String(c.hidden_act)}" is not supported: expected "gelu_new"`);
  if (c.rope_scaling !== null && c.rope_scaling !== undefined) throw new UserError(`${source}: rope_scaling is not supported`);
  return c;
}

/** Types and ranges of the fields one by one; a JSON number too large for a double (1e400) arrives as Infinity. */
function checkFields(c: PhiConfig, raw: Record<string, unknown>, source: string): void {
  const got = (f: string) => (f in raw ? JSON.stringify(raw[f]) ?? String(raw[f]) : "nothing");
  const fields = c as unknown as Record<string, unknown>;
  for (const [f, [min, max]] of Object.entries(INT_BOUNDS)) {
    const v = fields[f];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new UserError(`${source}: ${f} must be an integer from ${min} to ${max}, got ${typeof v === "number" ? String(v) : got(f)}`);
    }
  }
  for (const [f, b] of Object.entries(FLOAT_BOUNDS)) {
    const v = fields[f];
    if (typeof v !== "number" || !Number.isFinite(v) || v < b.min || (b.open && v === b.min) || v > b.max) {
      throw new UserError(`${source}: ${f} must be a finite number in ${b.open ? "(" : "["}${b.min}, ${b.max}], got ${typeof v === "number" ? String(v) : got(f)}`);
    }
  }
  for (const f of BOOLEANS) {
    if (typeof fields[f] !== "boolean") throw new UserError(`${source}: ${f} must be true or false, got ${got(f)}`);
  }
  if (!Array.isArray(c.architectures) || c.architectures.length === 0 || !c.architectures.every((a) => typeof a === "string")) {
    throw new UserError(`${source}: architectures must be a non-empty list of class names, got ${got("architectures")}`);
  }
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
