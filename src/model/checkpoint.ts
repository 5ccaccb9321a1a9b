import { access, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readConfig, type PhiConfig } from "./config.js";
import { DTYPE_BYTES, isFloatDtype, type FloatDtype } from "./dtype.js";
import { UserError } from "./errors.js";
import { layerPath, LINEAR_MODULES, linearFeatures, modulePath } from "./phi-layout.js";
import { SafetensorsFile, SafetensorsWriter, elementCount } from "./safetensors.js";
import { copyTokenizerFiles, writeBuiltinTokenizer } from "./tokenizer.js";
import { makeDir } from "./make-dir.js";

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

/** HF's default `max_shard_size` ("5GB" = 5·10⁹ bytes). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

const TORCH_DTYPE = { F32: "float32", F16: "float16", BF16: "bfloat16" } as const;

/**
 * Every tensor of PhiForCausalLM, named and shaped as transformers saves them (Linear weights are [out, in]).
 * With `tie_word_embeddings` lm_head.weight is the embedding and is not saved, as HF does.
 */
export function expectedTensors(c: PhiConfig): ExpectedTensor[] {
  const h = c.hidden_size, v = c.vocab_size;
  const out: ExpectedTensor[] = [{ name: "model.embed_tokens.weight", shape: [v, h] }];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = layerPath(i);
    out.push({ name: `${p}.input_layernorm.weight`, shape: [h] }, { name: `${p}.input_layernorm.bias`, shape: [h] });
    for (const mod of LINEAR_MODULES) {
      const [inF, outF] = linearFeatures(c, mod), name = modulePath(i, mod);
      out.push({ name: `${name}.weight`, shape: [outF, inF] }, { name: `${name}.bias`, shape: [outF] });
    }
  }
  out.push({ name: "model.final_layernorm.weight", shape: [h] }, { name: "model.final_layernorm.bias", shape: [h] });
  if (!c.tie_word_embeddings) out.push({ name: "lm_head.weight", shape: [v, h] });
  out.push({ name: "lm_head.bias", shape: [v] });
  return out;
}

const fmt = (shape: readonly number[]) => `[${shape.join(", ")}]`;

// the older trust_remote_code layout (modeling_phi.py of microsoft/phi-*, before transformers 4.37)
const REMOTE_CODE_NAME = /^transformer\.|(^|\.)layers\.\d+\.mixer\.|\.Wqkv\./;
// buffers some exporters save that the model recomputes
const IGNORED_NAME = /\.rotary_emb\.inv_freq$/;

/** An HF PhiForCausalLM checkpoint directory, every tensor validated on open and read lazily one at a time. */
export class Checkpoint {
  private constructor(
    readonly dir: string,
    readonly config: PhiConfig,
    /** dtype of the stored weights (that of model.embed_tokens.weight) */
    readonly dtype: FloatDtype,
    private readonly files: SafetensorsFile[],
    private readonly location: Map<string, SafetensorsFile>,
    private readonly shapes: Map<string, number[]>,
  ) {}

  static async open(dir: string): Promise<Checkpoint> {
    if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) throw new UserError(`${dir}: no such checkpoint directory`, "NOT_FOUND");
    const config = await readConfig(join(dir, "config.json"));
    const files: SafetensorsFile[] = [];
    try {
      const location = await openWeights(dir, files);
      const shapes = validateTensors(dir, config, location);
      const embed = location.get("model.embed_tokens.weight")!.info("model.embed_tokens.weight").dtype;
      return new Checkpoint(dir, config, embed as FloatDtype, files, location, shapes);
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
  }

  /** Every tensor the model uses, in HF order; lm_head.weight is listed even when tied. */
  names(): string[] {
    return [...this.shapes.keys()];
  }

  has(name: string): boolean {
    return this.shapes.has(name);
  }

  shape(name: string): number[] {
    const s = this.shapes.get(name);
    if (!s) throw new UserError(`${this.dir}: no tensor "${name}" in this checkpoint`, "NOT_FOUND");
    return [...s];
  }

  /** The tensor as float32; a tied lm_head.weight reads the embedding. */
  async read(name: string): Promise<Float32Array> {
    this.shape(name);
    const stored = this.location.has(name) ? name : "model.embed_tokens.weight";
    return this.location.get(stored)!.readFloat32(stored);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

/** Open model.safetensors (preferred, as HF does) or the shards of model.safetensors.index.json; map tensor name → its file. */
async function openWeights(dir: string, files: SafetensorsFile[]): Promise<Map<string, SafetensorsFile>> {
  const location = new Map<string, SafetensorsFile>();
  const exists = (p: string) => access(p).then(() => true, () => false);
  const single = join(dir, "model.safetensors");
  if (await exists(single)) {
    const f = await SafetensorsFile.open(single);
    files.push(f);
    for (const name of f.names()) location.set(name, f);
    return location;
  }
  const indexPath = join(dir, "model.safetensors.index.json");
  if (!(await exists(indexPath))) {
    const torchOnly = (await exists(join(dir, "pytorch_model.bin"))) || (await exists(join(dir, "pytorch_model.bin.index.json")));
    throw new UserError(torchOnly
      ? `${dir}: only PyTorch .bin weights found: tunegraph reads safetensors (re-save with save_pretrained(safe_serialization=True))`
      : `${dir}: no model.safetensors or model.safetensors.index.json`, "NOT_FOUND");
  }
  const weightMap = await readWeightMap(indexPath);
  const byFile = new Map<string, SafetensorsFile>();
  for (const [name, file] of Object.entries(weightMap)) {
    let f = byFile.get(file);
    if (!f) {
      f = await SafetensorsFile.open(join(dir, file));
      files.push(f);
      byFile.set(file, f);
    }
    if (!f.has(name)) throw new UserError(`${indexPath}: weight_map puts tensor "${name}" in ${file}, which does not contain it`);
    location.set(name, f);
  }
  return location;
}

async function readWeightMap(indexPath: string): Promise<Record<string, string>> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, "utf8"));
  } catch (e) {
    throw new UserError(`${indexPath}: invalid JSON (${(e as Error).message})`);
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) throw new UserError(`${indexPath}: "weight_map" must be an object of tensor name → shard file`);
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== "string" || file === "" || file.includes("/") || file.includes("\\")) {
      throw new UserError(`${indexPath}: weight_map["${name}"] must be a shard file name in this directory, got ${JSON.stringify(file)}`);
    }
  }
  return map as Record<string, string>;
}

/** Check names, shapes and dtypes against the config; return name → shape of what the model uses. */
function validateTensors(dir: string, config: PhiConfig, location: Map<string, SafetensorsFile>): Map<string, number[]> {
  const remote = [...location.keys()].find((n) => REMOTE_CODE_NAME.test(n));
  if (remote !== undefined) {
    throw new UserError(`${dir}: tensor "${remote}" is from the older remote-code Phi layout (trust_remote_code, model_type phi-msft): `
      + `tunegraph reads transformers' PhiForCausalLM layout (model.layers.N.self_attn.q_proj, ...); convert it, or use a revision saved by transformers >= 4.37`);
  }
  const expected = expectedTensors(config);
  const missing = expected.filter((t) => !location.has(t.name));
  if (missing.length > 0) {
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : "";
    throw new UserError(`${dir}: missing tensor "${missing[0].name}" (expected shape ${fmt(missing[0].shape)})${more}`);
  }
  const shapes = new Map<string, number[]>();
  for (const t of expected) {
    const f = location.get(t.name)!;
    const { dtype, shape } = f.info(t.name);
    if (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i])) {
      throw new UserError(`${f.path}: tensor "${t.name}" has shape ${fmt(shape)}, expected ${fmt(t.shape)} from config.json`);
    }
    if (!isFloatDtype(dtype)) throw new UserError(`${f.path}: tensor "${t.name}" has dtype ${dtype}, expected F32, F16 or BF16`);
    shapes.set(t.name, t.shape);
  }
  const vh = [config.vocab_size, config.hidden_size];
  if (config.tie_word_embeddings) {
    const lm = location.get("lm_head.weight");
    if (lm) {
      const s = lm.info("lm_head.weight").shape;
      if (s.length !== 2 || s[0] !== vh[0] || s[1] !== vh[1]) throw new UserError(`${lm.path}: tensor "lm_head.weight" has shape ${fmt(s)}, expected ${fmt(vh)} from config.json`);
    }
    shapes.set("lm_head.weight", vh);
  }
  const extra = [...location.keys()].find((n) => !shapes.has(n) && !IGNORED_NAME.test(n));
  if (extra !== undefined) {
    throw new UserError(`${location.get(extra)!.path}: tensor "${extra}" is not part of PhiForCausalLM with this config.json (num_hidden_layers ${config.num_hidden_layers})`);
  }
  return shapes;
}

export interface WriteCheckpointOptions {
  dtype: FloatDtype;
  /** Largest shard in bytes (default 5 GB, as HF); a tensor larger than this gets a shard of its own. */
  maxShardBytes?: number;
  /** Copy tokenizer files from this directory instead of writing the built-in phi-2 tokenizer. */
  tokenizerFrom?: string;
}

export interface WrittenCheckpoint {
  /** Weight files, in order. */
  files: string[];
  /** Bytes of tensor data (index `metadata.total_size`). */
  totalBytes: number;
  parameters: number;
}

/**
 * Write an HF checkpoint directory: weights tensor by tensor (each asked from `produce` only when it is written,
 * so one tensor is in memory at a time), sharded like HF, then the index, config.json, generation_config.json and
 * the tokenizer files. `dir` is created if needed; existing files of the same names are overwritten.
 */
export async function writeCheckpoint(
  dir: string,
  config: PhiConfig,
  produce: (name: string) => Promise<Float32Array>,
  opts: WriteCheckpointOptions,
): Promise<WrittenCheckpoint> {
  const maxShard = opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  const entries = expectedTensors(config).map((t) => ({ ...t, dtype: opts.dtype, bytes: elementCount(t.shape) * DTYPE_BYTES[opts.dtype] }));
  const shards: (typeof entries)[] = [];
  let size = 0;
  for (const e of entries) {
    // HF's rule: start a new shard when this tensor would push a non-empty one past the limit
    if (shards.length === 0 || (size + e.bytes > maxShard && size > 0)) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(e);
    size += e.bytes;
  }
  const n = shards.length;
  const pad = (k: number) => String(k).padStart(5, "0");
  const fileNames = n === 1 ? ["model.safetensors"] : shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(n)}.safetensors`);

  await makeDir(dir);
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const w = await SafetensorsWriter.create(join(dir, fileNames[i]), shards[i], { format: "pt" });
    try {
      for (const e of shards[i]) {
        const data = await produce(e.name);
        if (data.length !== elementCount(e.shape)) throw new Error(`writeCheckpoint: produce("${e.name}") gave ${data.length} values, shape ${fmt(e.shape)} needs ${elementCount(e.shape)}`);
        await w.writeFloats(e.name, data);
        weightMap[e.name] = fileNames[i];
      }
    } catch (err) {
      await w.close().catch(() => undefined); // keep the original error
      throw err;
    }
    await w.close();
  }
  const totalBytes = entries.reduce((a, e) => a + e.bytes, 0);
  const parameters = entries.reduce((a, e) => a + elementCount(e.shape), 0);
  if (n > 1) {
    const index = { metadata: { total_size: totalBytes, total_parameters: parameters }, weight_map: weightMap };
    await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify(index, null, 2) + "\n");
  }
  await writeFile(join(dir, "config.json"), JSON.stringify({ ...config, torch_dtype: TORCH_DTYPE[opts.dtype] }, null, 2) + "\n");
  const generation = { _from_model_config: true, bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id };
  await writeFile(join(dir, "generation_config.json"), JSON.stringify(generation, null, 2) + "\n");
  if (opts.tokenizerFrom !== undefined) await copyTokenizerFiles(opts.tokenizerFrom, dir);
  else await writeBuiltinTokenizer(dir);
  return { files: fileNames, totalBytes, parameters };
}
