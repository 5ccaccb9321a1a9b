import { randomInt } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Rng } from "../../model/random.js";
import type { PhiTokenizer, TokenStreamDecoder } from "../../model/tokenizer.js";
import type { FinishReason, GenerationResult } from "../types.js";
import type { BatchCache } from "./kv-cache.js";
import type { ResolvedRequest } from "./request.js";
import { Sampler } from "./sampler.js";
import type { LoraStack } from "./lora-stack.js";
import type { LoadedAdapter } from "./adapter-cache.js";
import type { ModelSession } from "./session.js";
import { StopMatcher } from "./stop.js";

/**
 * One request in flight: its tokens, sampler, streamed text and stop state. The model steps below feed it logits;
 * the batcher decides which sequences share a step.
 */
export class Sequence {
  readonly tokens: number[] = [];
  finishReason: FinishReason | null = null;
  private text = "";
  private readonly seen: Set<number>;
  private readonly sampler: Sampler;
  private readonly stop: StopMatcher;
  private readonly stream: TokenStreamDecoder;
  private readonly startedAt = performance.now();
  private firstTokenAt = 0;
  private lastTokenAt = 0;
  private sampled = 0; // tokens drawn, EOS included

  constructor(
    readonly request: ResolvedRequest,
    tokenizer: Pick<PhiTokenizer, "streamDecoder">,
    private readonly eosTokenId: number,
    private readonly contextLength: number,
    private readonly onText?: (chunk: string) => void,
    /** The LoRA adapter this sequence is decoded with (adapter-ready exports); null: the base model. */
    readonly adapter: LoadedAdapter | null = null,
  ) {
    const s = request.sampling;
    this.seen = new Set(request.promptIds);
    this.sampler = new Sampler(s, new Rng(s.seed ?? randomInt(2 ** 47), "generate"));
    this.stop = new StopMatcher(s.stop);
    this.stream = tokenizer.streamDecoder();
  }

  get done(): boolean {
    return this.finishReason !== null;
  }

  /** The token the next step feeds for this sequence. */
  get lastToken(): number {
    return this.tokens[this.tokens.length - 1];
  }

  cancel(): void {
    if (!this.done) this.finishReason = "cancelled";
  }

  /** Choose the next token from this sequence's row of logits, emit its text, and decide whether to stop. */
  accept(logits: Float32Array): void {
    if (this.done) return;
    const id = this.sampler.sample(logits, this.seen);
    this.lastTokenAt = performance.now();
    if (this.sampled++ === 0) this.firstTokenAt = this.lastTokenAt;
    if (id === this.eosTokenId) return this.finish("stop");
    this.tokens.push(id);
    this.seen.add(id);
    this.emit(this.stop.push(this.stream.push(id)));
    if (this.stop.stopped) return this.finish("stop");
    const total = this.request.promptIds.length + this.tokens.length;
    if (this.tokens.length >= this.request.sampling.maxNewTokens || total >= this.contextLength) this.finish("length");
  }

  private finish(reason: FinishReason): void {
    this.emit(this.stop.push(this.stream.flush()));
    this.emit(this.stop.flush());
    this.finishReason = this.stop.stopped ? "stop" : reason;
  }

  private emit(chunk: string): void {
    if (chunk === "") return;
    this.text += chunk;
    this.onText?.(chunk);
  }

  result(): GenerationResult {
    const decodeMs = this.lastTokenAt - this.firstTokenAt;
    const tokensPerSecond = this.sampled > 1 && decodeMs > 0
      ? ((this.sampled - 1) * 1000) / decodeMs
      : this.sampled > 0 ? (this.sampled * 1000) / Math.max(this.lastTokenAt - this.startedAt, 1e-3) : 0;
    return {
      text: this.text,
      tokens: [...this.tokens],
      finishReason: this.finishReason ?? "cancelled",
      promptTokens: this.request.promptIds.length,
      completionTokens: this.sampled,
      timeToFirstTokenMs: this.sampled > 0 ? this.firstTokenAt - this.startedAt : 0,
      tokensPerSecond,
    };
  }
}

/**
 * Run prompt tokens [from, to) of a sequence through the model alone, on top of `cache` (its earlier prompt tokens);
 * after the last chunk the sequence takes its first token.
 */
export async function prefillChunk(model: ModelSession, seq: Sequence, cache: BatchCache, from: number, to: number, stack?: LoraStack): Promise<void> {
  const chunk = seq.request.promptIds.slice(from, to);
  const lora = stack && { stack, indices: [stack.slotOf(seq.adapter)] };
  const out = await model.step(cache, [chunk], [chunk.map((_, i) => from + i)], lora);
  if (to === seq.request.promptIds.length) seq.accept(out.logits);
}

/**
 * One decode step for every row of `cache` (row r is `seqs[r]`): feed each its last token, let each take the next.
 * With a LoRA stack, each row uses its own sequence's adapter from it.
 */
export async function decodeStep(model: ModelSession, cache: BatchCache, seqs: Sequence[], stack?: LoraStack): Promise<void> {
  const lora = stack && { stack, indices: seqs.map((s) => stack.slotOf(s.adapter)) };
  const out = await model.step(cache, seqs.map((s) => [s.lastToken]), cache.lengths.map((n) => [n]), lora);
  seqs.forEach((s, r) => s.accept(out.logits.subarray(r * out.vocab, (r + 1) * out.vocab)));
}
