import type { GenerationResult } from "../types.js";
import { decodeStep, prefillChunk, type Sequence } from "./generate.js";
import { BatchCache } from "./kv-cache.js";
import type { LoadedAdapter } from "./adapter-cache.js";
import { LoraStack } from "./lora-stack.js";
import type { ModelSession } from "./session.js";

interface Job {
  seq: Sequence;
  resolve(r: GenerationResult): void;
  reject(e: unknown): void;
}

export interface BatcherOptions {
  maxBatchSize: number; // sequences sharing a decode step
  prefillChunk: number; // prompt tokens per prefill step while other sequences are decoding
  soloPrefillChunk: number; // the same while none is: nothing to stall, and ORT's products run faster on more rows
}

export const DEFAULT_BATCHER_OPTIONS: BatcherOptions = { maxBatchSize: 8, prefillChunk: 64, soloPrefillChunk: 512 };

/**
 * Continuous batching over one model. The running sequences share each decode step; between steps a waiting one is
 * prefilled, a chunk of its prompt per step (so a long prompt neither stalls the others' decoding nor blocks the
 * event loop for long: ORT runs a step synchronously), then joins the batch (its cache rows copied in once); finished
 * and cancelled sequences leave at the next step boundary. On an adapter-ready export, sequences with different
 * adapters (or none) share steps: the adapters of the running sequences are stacked, each row picks its own.
 */
export class Batcher {
  private readonly pending: Job[] = [];
  private running: Job[] = [];
  private cache: BatchCache;
  private prefilling: { job: Job; cache: BatchCache; done: number; stack?: LoraStack } | null = null; // the sequence being admitted
  private stack: LoraStack | undefined; // the adapters of the running sequences (adapter-ready exports)
  private loop: Promise<void> | null = null;
  readonly options: BatcherOptions;

  constructor(
    private readonly model: ModelSession,
    options: Partial<BatcherOptions> = {},
  ) {
    this.options = { ...DEFAULT_BATCHER_OPTIONS, ...options };
    this.cache = BatchCache.empty(model.kv, 0);
  }

  /** Sequences decoding now, and waiting for a slot (or being prefilled). */
  get load(): { running: number; pending: number } {
    return { running: this.running.length, pending: this.pending.length + (this.prefilling ? 1 : 0) };
  }

  /** Queue a sequence; `signal` cancels it (it leaves at the next step and resolves with finishReason "cancelled"). */
  submit(seq: Sequence, signal?: AbortSignal): Promise<GenerationResult> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        seq.cancel();
        return resolve(seq.result());
      }
      signal?.addEventListener("abort", () => seq.cancel(), { once: true });
      this.pending.push({ seq, resolve, reject });
      // start on the next turn, so that requests submitted together are admitted together
      this.loop ??= new Promise<void>((r) => setImmediate(r)).then(() => this.run());
    });
  }

  /** Resolves when nothing is running or waiting. */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  private async run(): Promise<void> {
    try {
      while (this.pending.length > 0 || this.running.length > 0 || this.prefilling) {
        await this.prefillStep();
        this.retire();
        if (this.running.length > 0) await this.decode();
      }
    } finally {
      this.loop = null;
    }
  }

  /** One chunk of the prompt of the sequence being admitted (the next waiting one, when a slot is free). */
  private async prefillStep(): Promise<void> {
    while (!this.prefilling && this.pending.length > 0 && this.running.length < this.options.maxBatchSize) {
      const job = this.pending.shift()!;
      if (job.seq.done) job.resolve(job.seq.result());
      else this.prefilling = { job, cache: BatchCache.empty(this.model.kv, 1), done: 0, stack: this.stackOf([job.seq]) };
    }
    const p = this.prefilling;
    if (!p) return;
    const { seq } = p.job;
    if (seq.done) {
      this.prefilling = null;
      return p.job.resolve(seq.result());
    }
    const chunk = this.running.length > 0 ? this.options.prefillChunk : this.options.soloPrefillChunk;
    const to = Math.min(seq.request.promptIds.length, p.done + chunk);
    try {
      await prefillChunk(this.model, seq, p.cache, p.done, to, p.stack);
      p.done = to;
    } catch (e) {
      this.prefilling = null;
      return p.job.reject(e);
    }
    if (p.done < seq.request.promptIds.length) return;
    this.prefilling = null;
    if (seq.done) return p.job.resolve(seq.result());
    this.cache.append(p.cache);
    this.running.push(p.job);
  }

  private async decode(): Promise<void> {
    const jobs = this.running;
    try {
      const seqs = jobs.map((j) => j.seq);
      this.stack = this.stackOf(seqs, this.stack);
      await decodeStep(this.model, this.cache, seqs, this.stack);
    } catch (e) {
      // a failed step fails the requests in it; the batcher goes on with the next ones
      for (const j of jobs) j.reject(e);
      this.running = [];
      this.cache = BatchCache.empty(this.model.kv, 0);
      return;
    }
    this.retire();
  }

  /** A stack of these sequences' adapters (`current` when it serves them); undefined when none has one. */
  private stackOf(seqs: Sequence[], current?: LoraStack): LoraStack | undefined {
    const adapters = new Set(seqs.map((s) => s.adapter).filter((a): a is LoadedAdapter => a !== null));
    if (adapters.size === 0 || !this.model.lora) return undefined;
    if (current?.serves(adapters)) return current;
    return LoraStack.build(this.model.config, this.model.lora, [...adapters]);
  }

  /** Resolve finished and cancelled sequences and drop their rows from the cache. */
  private retire(): void {
    const keep: number[] = [];
    this.running.forEach((j, r) => (j.seq.done ? j.resolve(j.seq.result()) : keep.push(r)));
    if (keep.length === this.running.length) return;
    this.running = keep.map((r) => this.running[r]);
    this.cache.select(keep);
  }
}
