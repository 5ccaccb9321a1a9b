import { UserError } from "../model/errors.js";
import { Rng, type RngState } from "../model/random.js";
import { IGNORE_INDEX, type TokenizedExample } from "./encode.js";

/** One batch, row-major [batchSize, seqLen], right-padded to the longest sequence in it. */
export interface Batch {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  labels: Int32Array;
  batchSize: number;
  seqLen: number;
  /** Positions with attention mask 1 (not padding). */
  tokens: number;
  /** Packed rows only: each token's sequence within its row (TokenizedExample.segmentIds), -1 on padding. */
  segmentIds?: Int32Array;
}

export interface BatcherOptions {
  batchSize: number;
  seed: number;
  /** Pad id: phi-2 has no pad token and pads with EOS (50256). */
  padTokenId?: number;
}

/** Where a Batcher stands: enough to resume and see exactly the batches an uninterrupted run sees. */
export interface BatcherState {
  sequences: number;
  batchSize: number;
  seed: number;
  epochIndex: number;
  position: number;
  batchesDone: number;
  /** The generator as it was before this epoch's shuffle. */
  rng: RngState;
}

/**
 * Serves batches epoch after epoch, each epoch in a fresh seeded shuffle; the last batch of an epoch may be smaller
 * (HF's `dataloader_drop_last=False`).
 */
export class Batcher {
  readonly stepsPerEpoch: number;
  private readonly padTokenId: number;
  private rng: Rng;
  private epochRng: RngState;
  private order: number[] = [];
  private epochIndex = 0;
  private position = 0;
  private done = 0;

  constructor(
    private readonly sequences: TokenizedExample[],
    private readonly opts: BatcherOptions,
  ) {
    if (sequences.length === 0) throw new UserError("no training sequences to batch");
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new UserError(`batch size must be an integer >= 1, got ${opts.batchSize}`);
    this.padTokenId = opts.padTokenId ?? 50256;
    this.stepsPerEpoch = Math.ceil(sequences.length / opts.batchSize);
    this.rng = new Rng(opts.seed, "data");
    this.epochRng = this.rng.state();
    this.shuffle();
  }

  /** Epochs done, as a fraction: batches served / batches per epoch (as HF Trainer reports `epoch`). */
  get epoch(): number {
    return this.done / this.stepsPerEpoch;
  }

  get batchesDone(): number {
    return this.done;
  }

  private shuffle(): void {
    this.epochRng = this.rng.state();
    this.order = this.rng.shuffle(Array.from({ length: this.sequences.length }, (_, i) => i));
  }

  next(): Batch {
    if (this.position >= this.order.length) {
      this.epochIndex++;
      this.position = 0;
      this.shuffle();
    }
    const rows = this.order.slice(this.position, this.position + this.opts.batchSize).map((i) => this.sequences[i]);
    this.position += rows.length;
    this.done++;
    return collate(rows, this.padTokenId);
  }

  state(): BatcherState {
    const { batchSize, seed } = this.opts;
    return { sequences: this.sequences.length, batchSize, seed, epochIndex: this.epochIndex, position: this.position, batchesDone: this.done, rng: this.epochRng };
  }

  /** Continue from a saved state; the data and batch size must be those of the run that saved it. */
  restore(state: unknown): void {
    const s = state as Partial<BatcherState> | null;
    if (typeof s !== "object" || s === null || !Number.isInteger(s.position) || !Number.isInteger(s.batchesDone) || !Number.isInteger(s.epochIndex)) {
      throw new UserError(`invalid data position in trainer state: ${JSON.stringify(state)?.slice(0, 200)}`);
    }
    if (s.sequences !== this.sequences.length || s.batchSize !== this.opts.batchSize || s.seed !== this.opts.seed) {
      throw new UserError(
        `cannot resume: the checkpoint was saved with ${s.sequences} sequences, batch size ${s.batchSize}, seed ${s.seed}; ` +
          `this run has ${this.sequences.length}, ${this.opts.batchSize}, ${this.opts.seed}`,
      );
    }
    this.rng = Rng.fromState(s.rng);
    this.shuffle();
    this.epochIndex = s.epochIndex!;
    this.position = s.position!;
    this.done = s.batchesDone!;
  }
}

/** Right-pad rows to the longest one: pad id, label -100, attention mask 0 (segment id -1 when packed). */
export function collate(rows: TokenizedExample[], padTokenId: number): Batch {
  const seqLen = Math.max(...rows.map((r) => r.inputIds.length));
  const n = rows.length;
  const inputIds = new Int32Array(n * seqLen).fill(padTokenId);
  const labels = new Int32Array(n * seqLen).fill(IGNORE_INDEX);
  const attentionMask = new Int32Array(n * seqLen);
  const segmentIds = rows.some((r) => r.segmentIds) ? new Int32Array(n * seqLen).fill(-1) : undefined;
  let tokens = 0;
  rows.forEach((r, b) => {
    const o = b * seqLen;
    inputIds.set(r.inputIds, o);
    labels.set(r.labels, o);
    if (r.attentionMask) attentionMask.set(r.attentionMask, o);
    else attentionMask.fill(1, o, o + r.inputIds.length);
    if (segmentIds) {
      if (r.segmentIds) segmentIds.set(r.segmentIds, o);
      else segmentIds.fill(0, o, o + r.inputIds.length);
    }
  });
  for (let i = 0; i < attentionMask.length; i++) tokens += attentionMask[i];
  return { inputIds, attentionMask, labels, batchSize: n, seqLen, tokens, ...(segmentIds && { segmentIds }) };
}

/** One of a batch's [batchSize, seqLen] arrays as rows. */
export function batchRows(data: Int32Array, batch: Batch): number[][] {
  const T = batch.seqLen;
  return Array.from({ length: batch.batchSize }, (_, b) => Array.from(data.subarray(b * T, (b + 1) * T)));
}
