import { access } from "node:fs/promises";
import path from "node:path";
import { readConfig, type PhiConfig } from "../../model/config.js";
import { UserError } from "../../model/errors.js";
import { PhiTokenizer } from "../../model/tokenizer.js";
import { fromThreadError, Thread, threadFile } from "../thread-bridge.js";
import type { GenerationRequest, GenerationResult, LoadedModel } from "../types.js";
import type { BatcherOptions } from "./batcher.js";
import type { KvShape } from "./kv-cache.js";
import type { LoraSpec } from "./lora-stack.js";
import { resolveRequest, type RequestLimits } from "./request.js";
import type { FromWorker, ServeWorkerData, ToWorker, WorkerLoad } from "./serve-worker.js";
import type { SessionOptions } from "./session.js";

interface Pending {
  resolve(r: GenerationResult): void;
  reject(e: unknown): void;
  onText?: (chunk: string) => void;
}

type ServingThread = Thread<ToWorker, FromWorker>;

/**
 * An exported model ready to serve. Requests are validated here, then decoded in the model's own thread
 * (serve-worker.ts), where they share decode steps through one batcher.
 */
export class OnnxLoadedModel implements LoadedModel {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private lastLoad: WorkerLoad = { running: 0, pending: 0 };
  private isClosed = false;

  private constructor(
    readonly dir: string,
    readonly config: PhiConfig,
    readonly tokenizer: PhiTokenizer,
    readonly limits: RequestLimits,
    readonly kv: KvShape,
    readonly provider: "cpu" | "cuda",
    readonly threads: number,
    /** The adapters this export takes (null: not adapter-ready). */
    readonly lora: LoraSpec | null,
    private readonly thread: ServingThread,
  ) {
    thread.onMessage((m) => this.receive(m));
    // a crashed thread fails what it was decoding; the model is then closed
    void thread.gone.then((e) => {
      this.isClosed = true;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  static async open(dir: string, session: SessionOptions, maxNewTokens: number, batching: Partial<BatcherOptions>, adapterCacheBytes?: number): Promise<OnnxLoadedModel> {
    try {
      await access(path.join(dir, "onnx", "model.onnx"));
    } catch {
      throw new UserError(`${dir}: not an exported model directory (no onnx/model.onnx; run tunegraph export first)`, "NOT_FOUND");
    }
    const config = await readConfig(path.join(dir, "config.json"));
    const tokenizer = await PhiTokenizer.fromDir(dir);
    const data: ServeWorkerData = { dir, session, batching, adapterCacheBytes };
    const thread: ServingThread = new Thread(threadFile(import.meta.url, "./serve-worker"), data, `serving thread of ${dir}`);
    const ready = await new Promise<Extract<FromWorker, { type: "ready" }>>((resolve, reject) => {
      thread.onMessage((m) => (m.type === "ready" ? resolve(m) : m.type === "failed" ? reject(fromThreadError(m.error)) : undefined));
      void thread.gone.then((e) => reject(new Error(`${e.message} while loading`, { cause: e.cause })));
    }).catch(async (e: unknown) => {
      await thread.terminate();
      throw e;
    });
    const limits = { contextLength: config.max_position_embeddings, maxNewTokens };
    return new OnnxLoadedModel(dir, config, tokenizer, limits, ready.kv, ready.provider, ready.threads, ready.lora, thread);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Sequences decoding and waiting, as the serving thread last reported them. */
  get load(): WorkerLoad {
    return this.lastLoad;
  }

  async generate(req: GenerationRequest, onText?: (chunk: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    if (this.isClosed) throw new Error(`model ${this.dir} is closed`);
    const request = resolveRequest(req, this.tokenizer, this.limits);
    if (request.adapter && !this.lora) {
      throw new UserError(`adapter ${request.adapter}: ${this.dir} is not an adapter-ready export (export it with --lora-targets, or merge the adapter)`);
    }
    if (signal?.aborted) {
      return { text: "", tokens: [], finishReason: "cancelled", promptTokens: request.promptIds.length, completionTokens: 0, timeToFirstTokenMs: 0, tokensPerSecond: 0 };
    }
    const id = this.nextId++;
    return new Promise<GenerationResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onText });
      this.send({ type: "generate", id, request, stream: onText !== undefined });
      signal?.addEventListener("abort", () => this.pending.has(id) && this.send({ type: "cancel", id }), { once: true });
    });
  }

  /** Lets the requests in flight finish, then ends the serving thread (and its ORT session). */
  async close(): Promise<void> {
    if (!this.isClosed) {
      this.isClosed = true;
      this.send({ type: "close" });
    }
    await this.thread.gone;
  }

  private send(m: ToWorker): void {
    this.thread.post(m);
  }

  private receive(m: FromWorker): void {
    if (m.type === "text" || m.type === "done") this.lastLoad = m.load;
    if (m.type === "closed") {
      void this.thread.terminate(); // its ORT threads would otherwise keep it alive
      return;
    }
    if (m.type === "ready") return;
    const p = m.id === null ? undefined : this.pending.get(m.id);
    if (!p) return;
    if (m.type === "text") {
      try {
        p.onText?.(m.chunk);
      } catch (e) {
        // a failing consumer ends its own request, not the others
        this.pending.delete(m.id);
        this.send({ type: "cancel", id: m.id });
        p.reject(e);
      }
      return;
    }
    this.pending.delete(m.id!);
    if (m.type === "done") p.resolve(m.result);
    else p.reject(fromThreadError(m.error));
  }
}
