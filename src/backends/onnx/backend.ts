import os from "node:os";
import { UserError } from "../../model/errors.js";
import { runJob, threadFile } from "../thread-bridge.js";
import type { BackendInfo, ExportOptions, ExportResult, InferenceBackend } from "../types.js";
import type { ExportJob } from "./export-thread.js";
import { DEFAULT_ADAPTER_CACHE_BYTES } from "./adapter-cache.js";
import { DEFAULT_BATCHER_OPTIONS } from "./batcher.js";
import { OnnxLoadedModel } from "./model.js";
import { cudaAvailable, DEFAULT_SESSION_OPTIONS, SessionCache, type Device } from "./session.js";

export interface OnnxBackendOptions {
  device: Device;
  threads: number; // 0 = one per core
  cacheSize: number; // models kept loaded, least recently used evicted
  maxBatchSize: number; // sequences sharing a decode step
  prefillChunk: number; // prompt tokens per prefill step, interleaved with the others' decode steps
  maxNewTokens: number; // the most a request may ask for
  adapterCacheBytes: number; // per adapter-ready model: LoRA adapters kept loaded, least recently used dropped past it
}

export const DEFAULT_ONNX_OPTIONS: OnnxBackendOptions = {
  device: DEFAULT_SESSION_OPTIONS.device,
  threads: DEFAULT_SESSION_OPTIONS.threads,
  cacheSize: 2,
  maxBatchSize: DEFAULT_BATCHER_OPTIONS.maxBatchSize,
  prefillChunk: DEFAULT_BATCHER_OPTIONS.prefillChunk,
  maxNewTokens: 1024,
  adapterCacheBytes: DEFAULT_ADAPTER_CACHE_BYTES,
};

/** Inference on onnxruntime-node: export to ONNX, then load exported directories (cached) and generate. */
export class OnnxBackend implements InferenceBackend {
  readonly name = "onnx";
  readonly options: OnnxBackendOptions;
  private readonly models: SessionCache<OnnxLoadedModel>;

  constructor(options: Partial<OnnxBackendOptions> = {}) {
    this.options = { ...DEFAULT_ONNX_OPTIONS, ...options };
    const { maxBatchSize, prefillChunk, maxNewTokens } = this.options;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new UserError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
    if (!Number.isInteger(prefillChunk) || prefillChunk < 1) throw new UserError(`prefillChunk must be a positive integer, got ${prefillChunk}`);
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new UserError(`maxNewTokens limit must be a positive integer, got ${maxNewTokens}`);
    this.models = new SessionCache(this.options.cacheSize, (dir) =>
      OnnxLoadedModel.open(dir, { device: this.options.device, threads: this.options.threads }, maxNewTokens, { maxBatchSize, prefillChunk }, this.options.adapterCacheBytes));
  }

  async describe(): Promise<BackendInfo> {
    const cuda = this.options.device !== "cpu" && cudaAvailable();
    return {
      backend: this.name,
      engine: cuda ? "ort-cuda" : "ort-cpu",
      device: cuda ? "gpu" : "cpu",
      threads: this.options.threads > 0 ? this.options.threads : os.availableParallelism(),
    };
  }

  /** On a thread of its own: merging and quantizing are minutes of synchronous work for phi-2. */
  export(checkpointDir: string, outDir: string, opts: ExportOptions): Promise<ExportResult> {
    const job: ExportJob = { checkpointDir, outDir, opts };
    return runJob<ExportResult>(threadFile(import.meta.url, "./export-thread"), job, { name: "export thread" });
  }

  /** The model of an exported directory, shared by every caller; `close()` on it unloads it for all. */
  async load(modelDir: string): Promise<OnnxLoadedModel> {
    const model = await this.models.get(modelDir);
    if (!model.closed) return model;
    await this.models.delete(modelDir); // closed by one of its users: open it afresh
    return this.models.get(modelDir);
  }

  /** Unload every model (requests in flight finish first). */
  async close(): Promise<void> {
    await this.models.clear();
  }
}
