import { open, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { parameterCount } from "../../../model/config.js";
import type { Precision } from "../../types.js";
import { ExternalSink, GraphBuilder, inlineSink } from "./graph.js";
import { LORA_METADATA } from "../../../model/onnx-names.js";
import type { LoraOptions } from "./lora-graph.js";
import { buildPhiGraph, INT4_ACCURACY_LEVEL, INT4_BLOCK_SIZE, type KvCacheType, type WeightSource } from "./phi-graph.js";
import { makeDir } from "../../../model/make-dir.js";

export const MODEL_FILE = "model.onnx";
export const DATA_FILE = "model.onnx_data";
/** protobuf cannot hold 2 GiB; stay well under it with the weights inline. */
const INLINE_LIMIT = 1.5 * 2 ** 30;

export interface OnnxWriteOptions {
  precision: Precision;
  /** Weights in `model.onnx_data`: default when the estimated size is above 1.5 GiB. */
  externalData?: boolean;
  /** com.microsoft fused attention and residual LayerNorm (default), or plain ONNX ops. */
  fused?: boolean;
  /** Element type of the KV cache; default float32: ORT's CPU attention has no fp16 kernel and casts the whole cache each step. */
  kvCache?: KvCacheType;
  /** int4: weights per scale (default 32). */
  blockSize?: number;
  /** Adapter-ready: LoRA inputs on these linears (lora-graph.ts). */
  lora?: LoraOptions;
  onTensor?: (name: string) => void;
}

export interface OnnxWriteResult {
  modelPath: string;
  externalData: boolean;
  sizeBytes: number;
}

/** Rough size of the written weights, to choose inline or external data before writing anything. */
export function estimateBytes(src: WeightSource, precision: Precision, blockSize = INT4_BLOCK_SIZE): number {
  const c = src.config;
  const total = parameterCount(c);
  if (precision === "fp32") return total * 4;
  const embed = c.vocab_size * c.hidden_size;
  // 4 bits a weight plus a float scale per block
  return embed * 4 + (total - embed) * (0.5 + 4 / blockSize);
}

/** Write `dir/model.onnx` (and `dir/model.onnx_data` for big models) for the Phi weights in `src`. */
export async function writeOnnxModel(src: WeightSource, dir: string, opts: OnnxWriteOptions): Promise<OnnxWriteResult> {
  await makeDir(dir);
  const modelPath = path.join(dir, MODEL_FILE);
  const dataPath = path.join(dir, DATA_FILE);
  await rm(dataPath, { force: true });
  const blockSize = opts.blockSize ?? INT4_BLOCK_SIZE;
  const external = opts.externalData ?? estimateBytes(src, opts.precision, blockSize) > INLINE_LIMIT;
  const file = external ? await open(dataPath, "w") : null;
  try {
    const g = new GraphBuilder(file ? new ExternalSink(file, DATA_FILE) : inlineSink);
    const fused = opts.fused ?? true;
    const kvCache = opts.kvCache ?? "float32";
    await buildPhiGraph(g, src, { precision: opts.precision, fused, kvCache, blockSize, lora: opts.lora, onTensor: opts.onTensor });
    const metadata: Record<string, string> = { "tunegraph.precision": opts.precision, "tunegraph.fused": String(fused), "tunegraph.kv_cache": kvCache };
    if (opts.precision === "int4") {
      metadata["tunegraph.int4"] = JSON.stringify({ bits: 4, block_size: blockSize, accuracy_level: INT4_ACCURACY_LEVEL, symmetric: true });
    }
    if (opts.lora) metadata[LORA_METADATA] = JSON.stringify({ target_modules: opts.lora.targets, max_rank: opts.lora.maxRank });
    await writeFile(modelPath, g.encode("tunegraph", { "": 17, "com.microsoft": 1 }, metadata));
  } finally {
    await file?.close();
  }
  const sizeBytes = (await stat(modelPath)).size + (external ? (await stat(dataPath)).size : 0);
  return { modelPath, externalData: external, sizeBytes };
}
