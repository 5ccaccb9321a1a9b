import { existsSync } from "node:fs";
import { access } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { readConfig, type PhiConfig } from "../../model/config.js";
import { UserError } from "../../model/errors.js";
import { ATTENTION_MASK, INPUT_IDS, LOGITS, LORA_INDICES, LORA_METADATA, newKvName, parseLoraInputName, parsePastName, pastName, POSITION_IDS, presentName } from "../../model/onnx-names.js";
import { isLinearModule } from "../../model/phi-layout.js";
import { PhiTokenizer } from "../../model/tokenizer.js";
import { decodeModels, type KvMode } from "./decode-graph.js";
import type { BatchCache, KvArray, KvShape } from "./kv-cache.js";
import { LoraStack, type LoraSpec } from "./lora-stack.js";

export type Device = "cpu" | "cuda" | "auto";

export interface SessionOptions {
  device: Device; // "auto": CUDA when this onnxruntime-node has it, else CPU
  threads: number; // intra-op threads; 0 = one per core
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = { device: "cpu", threads: 0 };

/** The adapters of a step and each row's slot among them. */
export interface LoraBatch {
  stack: LoraStack;
  indices: number[];
}

export interface StepOutput {
  logits: Float32Array; // [batch, vocab]: each row's last position
  vocab: number;
}

/** One exported model directory on ORT: the session, its config and tokenizer; it feeds and fetches by model/onnx-names.ts. */
export class ModelSession {
  /** Fed when a step names no adapters (every row in slot 0). */
  private readonly emptyStack: LoraStack | null;

  private constructor(
    readonly dir: string,
    readonly config: PhiConfig,
    readonly tokenizer: PhiTokenizer,
    readonly kv: KvShape,
    readonly provider: "cpu" | "cuda",
    readonly threads: number,
    /** What adapters this export takes; null when it is not adapter-ready. */
    readonly lora: LoraSpec | null,
    private readonly session: ort.InferenceSession,
    /** The session for a prompt's chunks (one row, several tokens), when one is faster than `session` (decode-graph.ts). */
    private readonly prefill: ort.InferenceSession | null,
  ) {
    this.emptyStack = lora ? LoraStack.build(config, lora, []) : null;
  }

  static async open(dir: string, opts: SessionOptions = DEFAULT_SESSION_OPTIONS): Promise<ModelSession> {
    const modelPath = path.join(dir, "onnx", "model.onnx");
    try {
      await access(modelPath);
    } catch {
      throw new UserError(`${dir}: not an exported model directory (no onnx/model.onnx; run tunegraph export first)`, "NOT_FOUND");
    }
    const config = await readConfig(path.join(dir, "config.json"));
    const tokenizer = await PhiTokenizer.fromDir(dir);
    const threads = opts.threads > 0 ? opts.threads : os.availableParallelism();
    const { session, prefill, provider, metadata } = await createSession(modelPath, opts.device, threads);
    const kv = kvShape(session, config, modelPath, "new-outputs");
    if (prefill) kvShape(prefill, config, modelPath, "in-place");
    return new ModelSession(dir, config, tokenizer, kv, provider, threads, loraSpec(session, metadata, modelPath), session, prefill);
  }

  /**
   * Run `seqLen` new tokens per row: `inputIds` [batch, seqLen], `positions` [batch, seqLen] (each row's own); returns
   * the logits of each row's last position. The whole cache goes in as the past; the new keys and values land in its
   * free slots (decode-graph.ts' KV modes: written there by attention itself, or fetched and written here). On an
   * adapter-ready export, `lora` says which adapter each row uses (none: every row without one).
   */
  async step(cache: BatchCache, inputIds: number[][], positions: number[][], lora?: LoraBatch): Promise<StepOutput> {
    const batch = cache.batch;
    const seqLen = inputIds[0].length;
    const { numHeads, headDim, layers } = this.kv;
    const inPlace = this.kvMode(batch, seqLen) === "in-place";
    const session = inPlace ? this.prefill! : this.session;
    cache.reserve(seqLen);
    const kvType = this.kv.float16 ? "float16" : "float32";
    const mask = inPlace ? cache.filledMask(seqLen) : cache.attentionMask(seqLen);
    const feeds: Record<string, ort.Tensor> = {
      [INPUT_IDS]: new ort.Tensor("int64", BigInt64Array.from(inputIds.flat(), BigInt), [batch, seqLen]),
      [ATTENTION_MASK]: new ort.Tensor("int64", mask, [batch, mask.length / batch]),
      [POSITION_IDS]: new ort.Tensor("int64", BigInt64Array.from(positions.flat(), BigInt), [batch, seqLen]),
    };
    const pastDims = [batch, numHeads, cache.capacity, headDim];
    const fetches: Record<string, ort.Tensor | null> = { [LOGITS]: null };
    for (let i = 0; i < layers; i++) {
      for (const kind of ["key", "value"] as const) {
        const past = new ort.Tensor(kvType, kind === "key" ? cache.keys[i] : cache.values[i], pastDims);
        feeds[pastName(i, kind)] = past;
        if (inPlace) fetches[presentName(i, kind)] = past;
        else fetches[newKvName(i, kind)] = null;
      }
    }
    if (this.emptyStack) {
      const stack = lora?.stack ?? this.emptyStack;
      feeds[LORA_INDICES] = new ort.Tensor("int64", BigInt64Array.from(lora?.indices ?? inputIds.map(() => 0), BigInt), [batch]);
      for (const [name, t] of stack.feeds) feeds[name] = new ort.Tensor("float32", t.data, t.dims);
    } else if (lora?.indices.some((i) => i !== 0)) {
      throw new UserError(`${this.dir}: not an adapter-ready export (export it with --lora-targets to serve adapters on it)`);
    }
    const out = await session.run(feeds, fetches);
    if (!inPlace) {
      for (let i = 0; i < layers; i++) cache.write(i, out[newKvName(i, "key")].data as KvArray, out[newKvName(i, "value")].data as KvArray, seqLen);
    }
    cache.commit(seqLen);
    const logits = out[LOGITS];
    return { logits: logits.data as Float32Array, vocab: logits.dims[2] };
  }

  /** How a step of `batch` rows and `seqLen` tokens each keeps the cache (decode-graph.ts; ORT's GroupQueryAttention takes several tokens only for one row). */
  kvMode(batch: number, seqLen: number): KvMode {
    return this.prefill && batch === 1 && seqLen > 1 ? "in-place" : "new-outputs";
  }

  async close(): Promise<void> {
    await Promise.all([this.session.release(), this.prefill?.release()]);
  }
}

/** Whether this onnxruntime-node install has its CUDA provider (its install script fetches it; offline installs lack it). */
export function cudaAvailable(): boolean {
  if (process.platform !== "linux" && process.platform !== "win32") return false;
  const pkg = path.dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
  const lib = process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
  return existsSync(path.join(pkg, "bin", "napi-v6", process.platform, process.arch, lib));
}

type Created = { session: ort.InferenceSession; prefill: ort.InferenceSession | null; provider: "cpu" | "cuda"; metadata: Record<string, string> };

async function createSession(modelPath: string, device: Device, threads: number): Promise<Created> {
  const base: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", logSeverityLevel: 3 };
  if (device === "cuda" && !cudaAvailable()) {
    throw new UserError("device cuda: this onnxruntime-node has no CUDA provider (install it with network access so its install script can fetch it)");
  }
  const decode = async (provider: "cpu" | "cuda") => {
    try {
      return await decodeModels(modelPath, provider);
    } catch (e) {
      throw new UserError(`${modelPath}: not a readable ONNX model (${(e as Error).message.split("\n")[0]})`);
    }
  };
  // model bytes do not say where they came from: external weights (model.onnx_data) are found through this folder
  const folder = { extra: { session: { model_external_initializers_file_folder_path: path.dirname(modelPath) } } };
  if (device === "cuda" || (device === "auto" && cudaAvailable())) {
    const { decode: bytes, metadata } = await decode("cuda");
    try {
      return { session: await ort.InferenceSession.create(bytes, { ...folder, ...base, executionProviders: ["cuda"] }), prefill: null, provider: "cuda", metadata };
    } catch (e) {
      if (device === "cuda") throw new UserError(`device cuda: onnxruntime cannot start CUDA here (${(e as Error).message.split("\n")[0]})`);
    }
  }
  const { decode: bytes, prefill, metadata } = await decode("cpu");
  const cpu = { ...folder, ...base, executionProviders: ["cpu"] };
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, cpu);
  } catch (e) {
    throw new UserError(`${modelPath}: onnxruntime cannot load this model (${(e as Error).message.split("\n")[0]})`);
  }
  // the prefill session only makes prompts faster: where GroupQueryAttention refuses the graph, `session` does them
  const faster = prefill && (await ort.InferenceSession.create(prefill, cpu).catch(() => null));
  return { session, prefill: faster, provider: "cpu", metadata };
}

/** Layers, heads, head size and cache precision, read from the graph's past_key_values inputs. */
function kvShape(session: ort.InferenceSession, config: PhiConfig, modelPath: string, kvMode: KvMode): KvShape {
  const past = session.inputMetadata.filter((m) => parsePastName(m.name)?.kind === "key");
  // position_ids too: the cache's free slots sit between a row's tokens and the new ones, so positions cannot be inferred from the mask
  const required = [INPUT_IDS, ATTENTION_MASK, POSITION_IDS, pastName(0, "key"), pastName(0, "value")];
  const missing = required.filter((n) => !session.inputNames.includes(n));
  const fetched = (i: number) => (kvMode === "in-place" ? presentName(i, "key") : newKvName(i, "key"));
  for (let i = 0; i < Math.max(past.length, 1); i++) if (!session.outputNames.includes(fetched(i))) missing.push(presentName(i, "key"));
  if (missing.length > 0) throw new UserError(`${modelPath}: not a decoder with a KV cache (missing ${missing.join(", ")})`);
  const meta = past[0];
  const type = meta.isTensor ? meta.type : "none";
  if (type !== "float32" && type !== "float16") throw new UserError(`${modelPath}: ${pastName(0, "key")} has type ${type}: expected float32 or float16`);
  const dims = meta.isTensor ? meta.shape : [];
  const numHeads = typeof dims[1] === "number" ? dims[1] : config.num_key_value_heads;
  const headDim = typeof dims[3] === "number" ? dims[3] : config.hidden_size / config.num_attention_heads;
  return { layers: past.length, numHeads, headDim, float16: type === "float16" };
}

/** The adapter-ready export's targets and max rank (its metadata), checked against its inputs; null for a plain export. */
function loraSpec(session: ort.InferenceSession, metadata: Record<string, string>, modelPath: string): LoraSpec | null {
  const hasInputs = session.inputNames.includes(LORA_INDICES);
  const raw = metadata[LORA_METADATA];
  if (!hasInputs && raw === undefined) return null;
  let spec: { target_modules?: unknown; max_rank?: unknown } = {};
  try {
    spec = JSON.parse(raw ?? "{}");
  } catch {
    // reported below
  }
  const targets = spec.target_modules;
  // the linears that have LoRA inputs must be the ones the metadata names
  const adapted = new Set(session.inputNames.map((n) => parseLoraInputName(n)?.module).filter((m) => m !== undefined));
  const agree = Array.isArray(targets) && targets.length === adapted.size && targets.every((t) => typeof t === "string" && isLinearModule(t) && adapted.has(t));
  if (!hasInputs || !agree || !Number.isInteger(spec.max_rank)) {
    throw new UserError(`${modelPath}: inconsistent adapter-ready export (input ${LORA_INDICES} ${hasInputs ? "present" : "absent"}, metadata ${LORA_METADATA} ${JSON.stringify(raw ?? null)})`);
  }
  return { targets, maxRank: spec.max_rank as number };
}

/** Sessions per model directory, least recently used evicted past `capacity`. */
export class SessionCache<T extends { close(): Promise<void> }> {
  private readonly entries = new Map<string, Promise<T>>();

  constructor(
    readonly capacity: number,
    private readonly open: (dir: string) => Promise<T>,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new UserError(`session cache size must be a positive integer, got ${capacity}`);
  }

  async get(dir: string): Promise<T> {
    const key = path.resolve(dir);
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-insert: Map order is recency order
    } else {
      entry = this.open(key);
      entry.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) {
      const [oldest, evicted] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      evicted.then((v) => v.close(), () => undefined);
    }
    return entry;
  }

  has(dir: string): boolean {
    return this.entries.has(path.resolve(dir));
  }

  async delete(dir: string): Promise<void> {
    const key = path.resolve(dir);
    const entry = this.entries.get(key);
    this.entries.delete(key);
    if (entry) await entry.then((v) => v.close(), () => undefined);
  }

  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.then((v) => v.close(), () => undefined)));
  }
}
