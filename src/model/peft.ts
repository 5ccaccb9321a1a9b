import { access, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { PhiConfig } from "./config.js";
import { UserError } from "./errors.js";
import { isLinearModule, LINEAR_MODULES, linearFeatures, MODULE_GROUP, type LinearModule } from "./phi-layout.js";
import { SafetensorsFile, writeSafetensors } from "./safetensors.js";
import { makeDir } from "./make-dir.js";

/** adapter_config.json as HF PEFT writes it for a LoRA adapter (LoraConfig.to_dict()). */
export interface PeftConfig {
  peft_type: "LORA";
  task_type: "CAUSAL_LM";
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[];
  bias: "none";
  fan_in_fan_out: boolean;
  base_model_name_or_path: string | null;
  use_rslora: boolean;
  use_dora: boolean;
  inference_mode: boolean;
  init_lora_weights: boolean;
  modules_to_save: string[] | null;
  layers_to_transform: number[] | null;
  layers_pattern: string | null;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  revision: string | null;
  auto_mapping: null;
  layer_replication: null;
  loftq_config: Record<string, never>;
  megatron_config: null;
  megatron_core: string;
  lora_bias: boolean;
  exclude_modules: null;
  eva_config: null;
}

/** One LoRA pair: `module` is the HF module path ("model.layers.0.self_attn.q_proj"); A [r, in], B [out, r]. */
export interface LoraWeights {
  module: string;
  A: Float32Array;
  B: Float32Array;
  inFeatures: number;
  outFeatures: number;
}

export interface Adapter {
  config: PeftConfig;
  weights: LoraWeights[];
  /** lora_alpha / r, or lora_alpha / √r with use_rslora. */
  scale: number;
}

export const ADAPTER_CONFIG = "adapter_config.json";
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";
// PEFT drops the adapter name (".default") when saving; some tools keep it, so accept both
const KEY = /^base_model\.model\.(model\.layers\.(\d+)\.(self_attn|mlp)\.([A-Za-z0-9_]+))\.lora_(A|B)(?:\.default)?\.weight$/;

const PHI_LINEARS = LINEAR_MODULES.map((m) => `${MODULE_GROUP[m]}.${m}`).join(", ");

export function loraScale(c: Pick<PeftConfig, "r" | "lora_alpha" | "use_rslora">): number {
  return c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r;
}

/** A complete adapter_config.json with PEFT's defaults for everything not given. */
export function loraConfig(o: { r: number; loraAlpha: number; loraDropout: number; targetModules: string[]; useRslora?: boolean; baseModel?: string | null }): PeftConfig {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: o.baseModel ?? null,
    bias: "none",
    eva_config: null,
    exclude_modules: null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: o.loraAlpha,
    lora_bias: false,
    lora_dropout: o.loraDropout,
    megatron_config: null,
    megatron_core: "megatron.core",
    modules_to_save: null,
    peft_type: "LORA",
    r: o.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...o.targetModules],
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: o.useRslora ?? false,
  };
}

/** Write `dir/adapter_config.json` and `dir/adapter_model.safetensors` exactly as PEFT's save_pretrained does. */
export async function writeAdapter(dir: string, config: PeftConfig, weights: LoraWeights[]): Promise<void> {
  for (const w of weights) {
    if (w.A.length !== config.r * w.inFeatures || w.B.length !== w.outFeatures * config.r) {
      throw new Error(`writeAdapter: ${w.module}: A has ${w.A.length} values and B ${w.B.length}, expected [${config.r}, ${w.inFeatures}] and [${w.outFeatures}, ${config.r}]`);
    }
  }
  await makeDir(dir);
  // PEFT writes json.dumps(config, indent=2, sort_keys=True)
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : 1)));
  await writeFile(path.join(dir, ADAPTER_CONFIG), JSON.stringify(sorted, null, 2) + "\n");
  const tensors = weights.flatMap((w) => [
    { name: `base_model.model.${w.module}.lora_A.weight`, dtype: "F32" as const, shape: [config.r, w.inFeatures], data: w.A },
    { name: `base_model.model.${w.module}.lora_B.weight`, dtype: "F32" as const, shape: [w.outFeatures, config.r], data: w.B },
  ]);
  await writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), tensors, { format: "pt" });
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

function parseConfig(raw: unknown, file: string): PeftConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new UserError(`${file}: expected a JSON object`);
  const c = raw as Record<string, unknown>;
  if (c.peft_type !== "LORA") throw new UserError(`${file}: peft_type is ${JSON.stringify(c.peft_type)}: only "LORA" adapters are supported`);
  if (c.task_type !== undefined && c.task_type !== null && c.task_type !== "CAUSAL_LM") throw new UserError(`${file}: task_type is ${JSON.stringify(c.task_type)}: expected "CAUSAL_LM"`);
  if (!Number.isInteger(c.r) || (c.r as number) < 1) throw new UserError(`${file}: r must be a positive integer, got ${JSON.stringify(c.r)}`);
  if (typeof c.lora_alpha !== "number" || !(c.lora_alpha > 0)) throw new UserError(`${file}: lora_alpha must be a positive number, got ${JSON.stringify(c.lora_alpha)}`);
  if ((c.bias ?? "none") !== "none") throw new UserError(`${file}: bias ${JSON.stringify(c.bias)} is not supported: expected "none"`);
  if (c.use_dora === true) throw new UserError(`${file}: use_dora: true (DoRA) is not supported`);
  if (c.fan_in_fan_out === true) throw new UserError(`${file}: fan_in_fan_out: true is not supported: Phi's layers are nn.Linear`);
  for (const f of ["rank_pattern", "alpha_pattern"] as const) {
    const v = c[f];
    if (v !== undefined && v !== null && (typeof v !== "object" || Object.keys(v).length > 0)) throw new UserError(`${file}: ${f} is not supported (every module must use r and lora_alpha)`);
  }
  if (Array.isArray(c.modules_to_save) && c.modules_to_save.length > 0) throw new UserError(`${file}: modules_to_save is not supported (only LoRA weights can be merged)`);
  const targets = typeof c.target_modules === "string" ? [c.target_modules] : c.target_modules;
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === "string")) throw new UserError(`${file}: target_modules must be a list of module names`);
  const base = loraConfig({ r: c.r as number, loraAlpha: c.lora_alpha, loraDropout: 0, targetModules: targets as string[] });
  return { ...base, ...(c as Partial<PeftConfig>), target_modules: targets as string[], lora_dropout: typeof c.lora_dropout === "number" ? c.lora_dropout : 0, use_rslora: c.use_rslora === true };
}

/** PEFT's rule for a list of targets: a module is adapted when its name is a target or ends with "." + target. */
const isTarget = (module: string, target: string) => module === target || module.endsWith(`.${target}`);

/**
 * The config and the tensors must agree: every target names modules that have LoRA weights, and every weight's
 * module is a target. (A string is taken as one name: PEFT reads it as a regular expression, which a server
 * should not run for a client.)
 */
function checkTargets(targets: string[], pairs: Map<string, { A?: string; B?: string }>, configPath: string, weightsPath: string): void {
  const modules = [...pairs.keys()];
  for (const t of targets) {
    if (!modules.some((m) => isTarget(m, t))) {
      throw new UserError(`${configPath}: target_modules names "${t}", but ${weightsPath} holds no lora_A/lora_B tensors for it (it holds ${[...new Set(modules.map((m) => m.split(".").pop()))].join(", ")})`);
    }
  }
  for (const [m, p] of pairs) {
    if (!targets.some((t) => isTarget(m, t))) {
      throw new UserError(`${weightsPath}: tensor "${p.A ?? p.B}": module ${m} is not in target_modules (${targets.join(", ")}) of ${configPath}`);
    }
  }
}

/**
 * Read a PEFT LoRA adapter directory (HF PEFT's or ours). The tensors must be those of target_modules; with `base`,
 * every tensor is checked against the base model's layers and shapes; an error names the tensor, the expected and
 * the found shape. The returned target_modules are the Phi module names the tensors hold.
 */
export async function readAdapter(dir: string, base?: PhiConfig): Promise<Adapter> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new UserError(`${dir}: adapter directory not found`, "NOT_FOUND");
  const configPath = path.join(dir, ADAPTER_CONFIG);
  if (!(await exists(configPath))) throw new UserError(`${dir}: not a PEFT adapter directory: no ${ADAPTER_CONFIG}`);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(configPath, "utf8"));
  } catch (e) {
    throw new UserError(`${configPath}: invalid JSON (${(e as Error).message})`);
  }
  const config = parseConfig(raw, configPath);

  const weightsPath = path.join(dir, ADAPTER_WEIGHTS);
  if (!(await exists(weightsPath))) {
    if (await exists(path.join(dir, "adapter_model.bin"))) {
      throw new UserError(`${dir}: adapter_model.bin is a pickled PyTorch file, which tunegraph does not load: convert it to safetensors (in Python: PeftModel.from_pretrained(...).save_pretrained(dir, safe_serialization=True))`);
    }
    throw new UserError(`${dir}: not a PEFT adapter directory: no ${ADAPTER_WEIGHTS}`);
  }
  const hint = base && config.base_model_name_or_path ? ` (the adapter was trained on ${config.base_model_name_or_path}: is it for another base model?)` : "";
  const file = await SafetensorsFile.open(weightsPath);
  try {
    const pairs = new Map<string, { A?: string; B?: string; name: LinearModule; layer: number }>();
    for (const key of file.names()) {
      const m = KEY.exec(key);
      if (!m) throw new UserError(`${weightsPath}: unexpected tensor "${key}": expected LoRA weights named base_model.model.model.layers.N.{self_attn,mlp}.MODULE.lora_{A,B}.weight`);
      const [, module, layer, group, name, ab] = m;
      if (!isLinearModule(name) || MODULE_GROUP[name] !== group) throw new UserError(`${weightsPath}: tensor "${key}": unknown module ${group}.${name} for Phi (expected one of ${PHI_LINEARS})`);
      if (base && Number(layer) >= base.num_hidden_layers) throw new UserError(`${weightsPath}: tensor "${key}": layer ${layer} is out of range: the base model has ${base.num_hidden_layers} layers${hint}`);
      const p = pairs.get(module) ?? { name, layer: Number(layer) };
      if (p[ab as "A" | "B"]) throw new UserError(`${weightsPath}: tensor "${key}": lora_${ab} of ${module} appears twice`);
      p[ab as "A" | "B"] = key;
      pairs.set(module, p);
    }
    if (pairs.size === 0) throw new UserError(`${weightsPath}: holds no LoRA weights`);
    checkTargets(config.target_modules, pairs, configPath, weightsPath);

    const weights: LoraWeights[] = [];
    const sortedModules = [...pairs.entries()].sort(([, a], [, b]) => a.layer - b.layer || a.name.localeCompare(b.name));
    for (const [module, p] of sortedModules) {
      if (!p.A || !p.B) throw new UserError(`${weightsPath}: ${module} has lora_${p.A ? "A" : "B"} but no lora_${p.A ? "B" : "A"}`);
      const a = file.info(p.A).shape, b = file.info(p.B).shape;
      const features = base ? linearFeatures(base, p.name) : [a[1], b[0]];
      const expectA = [config.r, features[0]], expectB = [features[1], config.r];
      for (const [key, found, expected] of [[p.A, a, expectA], [p.B, b, expectB]] as const) {
        if (found.length !== 2 || found[0] !== expected[0] || found[1] !== expected[1]) {
          throw new UserError(`${weightsPath}: tensor "${key}": expected shape [${expected.join(", ")}], found [${found.join(", ")}]${hint}`);
        }
      }
      weights.push({ module, A: await file.readFloat32(p.A), B: await file.readFloat32(p.B), inFeatures: features[0], outFeatures: features[1] });
    }
    // reported as the Phi module names the tensors hold, whichever spelling of them the config used
    const held = new Set([...pairs.values()].map((p) => p.name));
    const targetModules = LINEAR_MODULES.filter((n) => held.has(n));
    return { config: { ...config, target_modules: targetModules }, weights, scale: loraScale(config) };
  } finally {
    await file.close();
  }
}
