/**
 * The serving thread of one model: owns its ORT session, KV caches and batcher, so that ORT's synchronous steps never
 * block the thread that serves requests. Takes validated requests, posts text chunks and results back.
 */
import { parentThread, toThreadError, type ThreadError } from "../thread-bridge.js";
import type { GenerationResult } from "../types.js";
import { UserError } from "../../model/errors.js";
import { AdapterCache, type LoadedAdapter } from "./adapter-cache.js";
import { Batcher, type BatcherOptions } from "./batcher.js";
import { Sequence } from "./generate.js";
import type { KvShape } from "./kv-cache.js";
import type { LoraSpec } from "./lora-stack.js";
import type { ResolvedRequest } from "./request.js";
import { ModelSession, type SessionOptions } from "./session.js";

export interface ServeWorkerData {
  dir: string;
  session: SessionOptions;
  batching: Partial<BatcherOptions>;
  adapterCacheBytes?: number;
}

export type ToWorker =
  | { type: "generate"; id: number; request: ResolvedRequest; stream: boolean }
  | { type: "cancel"; id: number }
  | { type: "close" };

export interface WorkerLoad {
  running: number;
  pending: number;
}

export type FromWorker =
  | { type: "ready"; provider: "cpu" | "cuda"; threads: number; kv: KvShape; lora: LoraSpec | null }
  | { type: "text"; id: number; chunk: string; load: WorkerLoad }
  | { type: "done"; id: number; result: GenerationResult; load: WorkerLoad }
  | { type: "failed"; id: number | null; error: ThreadError }
  | { type: "closed" };

const parent = parentThread<ToWorker, FromWorker>();
const post = parent.post;
const data = parent.data as ServeWorkerData;
let session: ModelSession | undefined;
try {
  session = await ModelSession.open(data.dir, data.session);
} catch (e) {
  post({ type: "failed", id: null, error: toThreadError(e) });
}

if (session) {
  const model = session;
  const batcher = new Batcher(model, data.batching);
  const adapters = model.lora ? new AdapterCache(model.config, model.lora, data.adapterCacheBytes) : null;
  const cancels = new Map<number, AbortController>();
  // the adapter is loaded (or found in the cache) first; a bad one fails only its own request
  const start = async (m: Extract<ToWorker, { type: "generate" }>, signal: AbortSignal): Promise<GenerationResult> => {
    let adapter: LoadedAdapter | null = null;
    if (m.request.adapter) {
      if (!adapters) throw new UserError(`adapter ${m.request.adapter}: ${data.dir} is not an adapter-ready export (export it with --lora-targets)`);
      adapter = await adapters.acquire(m.request.adapter);
    }
    const onText = m.stream ? (chunk: string) => post({ type: "text", id: m.id, chunk, load: batcher.load }) : undefined;
    const seq = new Sequence(m.request, model.tokenizer, model.tokenizer.eosTokenId, model.config.max_position_embeddings, onText, adapter);
    try {
      return await batcher.submit(seq, signal);
    } finally {
      if (adapter) adapters!.release(adapter);
    }
  };
  parent.onMessage((m) => {
    if (m.type === "generate") {
      const cancel = new AbortController();
      cancels.set(m.id, cancel);
      start(m, cancel.signal).then(
        (result) => post({ type: "done", id: m.id, result, load: batcher.load }),
        (e: unknown) => post({ type: "failed", id: m.id, error: toThreadError(e) }),
      ).finally(() => cancels.delete(m.id));
    } else if (m.type === "cancel") {
      cancels.get(m.id)?.abort();
    } else {
      void batcher.idle().then(() => model.close()).then(() => {
        post({ type: "closed" });
        parent.close();
      });
    }
  });
  post({ type: "ready", provider: model.provider, threads: model.threads, kv: model.kv, lora: model.lora });
}
