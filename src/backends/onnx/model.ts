import { access } from "node:fs/promises";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { readConfig, type PhiConfig } from "../../model/config.js";
import { UserError } from "../../model/errors.js";
import { PhiTokenizer } from "../../model/tokenizer.js";
import type { GenerationRequest, GenerationResult, LoadedModel } from "../types.js";
import type { BatcherOptions } from "./batcher.js";
import type { KvShape } from "./kv-cache.js";
import { resolveRequest, type RequestLimits } from "./request.js";
import type { FromWorker, ServeWorkerData, ToWorker, WorkerError, WorkerLoad } from "./serve-worker.js";
import type { SessionOptions } from "./session.js";

interface Pending {
  resolve(r: GenerationResult): void;
  reject(e: unknown): void;
  onText?: (chunk: string) => void;
}

/** The compiled worker beside this file; from TypeScript sources (tests, dev) it goes through jiti's loader. */
function spawn(data: ServeWorkerData): Worker {
  const fromSource = import.meta.url.endsWith(".ts");
  const url = new URL(fromSource ? "./serve-worker.ts" : "./serve-worker.js", import.meta.url);
  return new Worker(url, { workerData: data, execArgv: fromSource ? ["--import", "jiti/register"] : [] });
}

function toError(e: WorkerError): Error {
  if (e.userError) return new UserError(e.message, e.code as UserError["code"]);
  return Object.assign(new Error(e.message), { stack: e.stack });
}

/**
 * An exported model ready to serve. Requests are validated here, then decoded in the model's own thread
 * (serve-worker.ts), where they share decode steps through one batcher.
 */
export class OnnxLoadedModel implements LoadedModel {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private lastLoad: WorkerLoad = { running: 0, pending: 0 };
  private isClosed = false;
  private exited: Promise<void>;

  private constructor(
    readonly dir: string,
    readonly config: PhiConfig,
    readonly tokenizer: PhiTokenizer,
    readonly limits: RequestLimits,
    readonly kv: KvShape,
    readonly provider: "cpu" | "cuda",
    readonly threads: number,
    private readonly worker: Worker,
  ) {
    worker.on("message", (m: FromWorker) => this.receive(m));
    this.exited = new Promise((resolve) => worker.once("exit", () => resolve()));
    // a crashed thread fails what it was decoding; the model is then closed
    const fail = (e: unknown) => {
      this.isClosed = true;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.once("exit", (code) => fail(new Error(`serving thread of ${dir} exited (code ${code})`)));
  }

  static async open(dir: string, session: SessionOptions, maxNewTokens: number, batching: Partial<BatcherOptions>): Promise<OnnxLoadedModel> {
    try {
      await access(path.join(dir, "onnx", "model.onnx"));
    } catch {
      throw new UserError(`${dir}: not an exported model directory (no onnx/model.onnx; run tunegraph export first)`, "NOT_FOUND");
    }
    const config = await readConfig(path.join(dir, "config.json"));
    const tokenizer = await PhiTokenizer.fromDir(dir);
    const worker = spawn({ dir, session, batching });
    let listeners: { message: (m: FromWorker) => void; error: (e: Error) => void; exit: (code: number) => void } | undefined;
    const ready = await new Promise<Extract<FromWorker, { type: "ready" }>>((resolve, reject) => {
      listeners = {
        message: (m) => (m.type === "ready" ? resolve(m) : m.type === "failed" ? reject(toError(m.error)) : undefined),
        error: reject,
        exit: (code) => reject(new Error(`serving thread of ${dir} exited (code ${code}) while loading`)),
      };
      for (const [event, fn] of Object.entries(listeners)) worker.on(event, fn);
    }).catch(async (e: unknown) => {
      await worker.terminate();
      throw e;
    }).finally(() => {
      // only ours: Worker keeps internal listeners of its own
      for (const [event, fn] of Object.entries(listeners!)) worker.off(event, fn);
    });
    const limits = { contextLength: config.max_position_embeddings, maxNewTokens };
    return new OnnxLoadedModel(dir, config, tokenizer, limits, ready.kv, ready.provider, ready.threads, worker);
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
    await this.exited;
  }

  private send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private receive(m: FromWorker): void {
    if (m.type === "text" || m.type === "done") this.lastLoad = m.load;
    if (m.type === "closed") {
      void this.worker.terminate(); // its ORT threads would otherwise keep it alive
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
    else p.reject(toError(m.error));
  }
}
