/**
 * The key/value cache of a batch of sequences, per layer [batch, num_heads, capacity, head_dim], fed whole as
 * `past_key_values` every step. Row r holds its tokens in slots [0, lengths[r]); the slots after them are free
 * (positions travel in position_ids), so a step adds only the new tokens' keys and values at slot lengths[r]: attention
 * writes them there itself (decode-graph.ts' in-place mode, `filledMask`), or the session does (`write`, with
 * `attentionMask`).
 */

export type KvArray = Float32Array | Uint16Array; // float16 travels as raw Uint16 bits

export interface KvShape {
  layers: number;
  numHeads: number;
  headDim: number;
  float16: boolean;
}

/** Capacity grows in steps of this many slots (each growth copies the cache once). */
const SLOTS = 64;

export class BatchCache {
  keys: KvArray[];
  values: KvArray[];

  private constructor(
    readonly shape: KvShape,
    readonly lengths: number[], // tokens per row
    public capacity: number, // slots per row
  ) {
    const n = lengths.length * shape.numHeads * capacity * shape.headDim;
    this.keys = Array.from({ length: shape.layers }, () => alloc(shape, n));
    this.values = Array.from({ length: shape.layers }, () => alloc(shape, n));
  }

  static empty(shape: KvShape, batch: number): BatchCache {
    return new BatchCache(shape, new Array<number>(batch).fill(0), 0);
  }

  get batch(): number {
    return this.lengths.length;
  }

  /** The attention mask of a step that adds `seqLen` tokens to every row: [batch, capacity + seqLen], the new ones last. */
  attentionMask(seqLen: number): BigInt64Array {
    const total = this.capacity + seqLen;
    const mask = new BigInt64Array(this.batch * total);
    this.lengths.forEach((len, r) => {
      mask.fill(1n, r * total, r * total + len);
      mask.fill(1n, r * total + this.capacity, (r + 1) * total);
    });
    return mask;
  }

  /** In-place mode's mask: [batch, capacity], each row's tokens and the `seqLen` new ones after them. */
  filledMask(seqLen: number): BigInt64Array {
    const mask = new BigInt64Array(this.batch * this.capacity);
    this.lengths.forEach((len, r) => mask.fill(1n, r * this.capacity, r * this.capacity + len + seqLen));
    return mask;
  }

  /** Make room for `seqLen` more tokens in every row. */
  reserve(seqLen: number): void {
    const need = Math.max(0, ...this.lengths) + seqLen;
    if (need > this.capacity) this.moveTo(this.lengths.map((_, r) => r), roundUp(need));
  }

  /** Store a step's new keys and values of one layer ([batch, num_heads, seqLen, head_dim]) after each row's tokens. */
  write(layer: number, keys: KvArray, values: KvArray, seqLen: number): void {
    const { numHeads: h, headDim: d } = this.shape;
    const span = seqLen * d;
    for (let r = 0; r < this.batch; r++) {
      for (let head = 0; head < h; head++) {
        const from = (r * h + head) * span;
        const to = ((r * h + head) * this.capacity + this.lengths[r]) * d;
        this.keys[layer].set(keys.subarray(from, from + span), to);
        this.values[layer].set(values.subarray(from, from + span), to);
      }
    }
  }

  /** Count the tokens written by `write` for every layer. */
  commit(seqLen: number): void {
    for (let r = 0; r < this.batch; r++) this.lengths[r] += seqLen;
  }

  /** Keep only `rows` (in that order), and give back the slots no remaining row needs. */
  select(rows: number[]): void {
    this.moveTo(rows, roundUp(Math.max(0, ...rows.map((r) => this.lengths[r]))));
  }

  /** Add the rows of `other` after this cache's rows. */
  append(other: BatchCache): void {
    const merged = BatchCache.join([this, other]);
    this.adopt(merged);
  }

  private static join(parts: BatchCache[]): BatchCache {
    const first = parts[0];
    const lengths = parts.flatMap((p) => p.lengths);
    const out = new BatchCache(first.shape, lengths, roundUp(Math.max(0, ...lengths)));
    let row = 0;
    for (const p of parts) {
      for (let r = 0; r < p.batch; r++) out.copyRow(p, r, row++);
    }
    return out;
  }

  private moveTo(rows: number[], capacity: number): void {
    const out = new BatchCache(this.shape, rows.map((r) => this.lengths[r]), capacity);
    rows.forEach((r, i) => out.copyRow(this, r, i));
    this.adopt(out);
  }

  private adopt(other: BatchCache): void {
    this.keys = other.keys;
    this.values = other.values;
    this.capacity = other.capacity;
    this.lengths.splice(0, this.lengths.length, ...other.lengths);
  }

  /** Copy row `from` of `src` (its tokens only) into row `to` of this cache. */
  private copyRow(src: BatchCache, from: number, to: number): void {
    const { numHeads: h, headDim: d, layers } = this.shape;
    const n = src.lengths[from] * d;
    for (let l = 0; l < layers; l++) {
      for (let head = 0; head < h; head++) {
        const a = (from * h + head) * src.capacity * d;
        const b = (to * h + head) * this.capacity * d;
        this.keys[l].set(src.keys[l].subarray(a, a + n), b);
        this.values[l].set(src.values[l].subarray(a, a + n), b);
      }
    }
  }
}

function roundUp(n: number): number {
  return Math.ceil(n / SLOTS) * SLOTS;
}

function alloc(shape: KvShape, n: number): KvArray {
  return shape.float16 ? new Uint16Array(n) : new Float32Array(n);
}
