import { UserError } from "./errors.js";

/** Serializable state of an `Rng` (JSON-safe). */
export interface RngState {
  algorithm: "xoshiro128**";
  s: [number, number, number, number];
  /** The second Box-Muller value, not yet returned. */
  spare: number | null;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One 32-bit state word per lane, each an independent hash of the whole seed material. */
function mixWords(words: number[], lane: number): number {
  let h = Math.imul(lane + 1, 0x9e3779b9) >>> 0;
  for (const w of words) h = fmix32(((h ^ w) + 0x7f4a7c15) >>> 0);
  return fmix32((h ^ words.length) >>> 0);
}

function seedWords(seed: number, key: string): number[] {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng seed must be a safe integer, got ${seed}`);
  const words = [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0];
  const bytes = new TextEncoder().encode(key);
  for (let i = 0; i < bytes.length; i += 4) words.push((bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) >>> 0);
  words.push(bytes.length);
  return words;
}

/**
 * Seeded, deterministic PRNG (xoshiro128**), with normals by the polar Box-Muller method.
 * `new Rng(seed, key)` gives an independent stream per key (e.g. one per tensor name), so what one stream
 * draws never depends on the order other streams are used in.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(seed = 0, key = "") {
    const words = seedWords(seed, key);
    this.a = mixWords(words, 0);
    this.b = mixWords(words, 1);
    this.c = mixWords(words, 2);
    this.d = mixWords(words, 3);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the one state xoshiro never leaves
  }

  static fromState(state: unknown): Rng {
    const s = state as Partial<RngState> | null;
    const ok = typeof s === "object" && s !== null && s.algorithm === "xoshiro128**"
      && Array.isArray(s.s) && s.s.length === 4 && s.s.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)
      && s.s.some((w) => w !== 0) && (s.spare === null || (typeof s.spare === "number" && Number.isFinite(s.spare)));
    if (!ok) throw new UserError(`invalid random-generator state: ${JSON.stringify(state)?.slice(0, 200)}`);
    const r = new Rng();
    [r.a, r.b, r.c, r.d] = s.s as [number, number, number, number];
    r.spare = s.spare as number | null;
    return r;
  }

  state(): RngState {
    return { algorithm: "xoshiro128**", s: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0], spare: this.spare };
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (mean 0, std 1): Marsaglia's polar form of Box-Muller (no sin/cos; about 3x faster here). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let x: number, y: number, s: number;
    do {
      x = this.nextUint32() / 2147483648 - 1;
      y = this.nextUint32() / 2147483648 - 1;
      s = x * x + y * y;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = y * f;
    return x * f;
  }

  /** Fill `out` with normal(mean, std) values: the same values as `out.length` calls of normal(), in a faster loop. */
  fillNormal(out: Float32Array, std = 1, mean = 0): Float32Array {
    let i = 0;
    if (this.spare !== null && out.length > 0) out[i++] = mean + std * this.normal();
    for (; i + 1 < out.length; i += 2) {
      let x: number, y: number, s: number;
      do {
        x = this.nextUint32() / 2147483648 - 1;
        y = this.nextUint32() / 2147483648 - 1;
        s = x * x + y * y;
      } while (s >= 1 || s === 0);
      const f = std * Math.sqrt((-2 * Math.log(s)) / s);
      out[i] = mean + x * f;
      out[i + 1] = mean + y * f;
    }
    if (i < out.length) out[i] = mean + std * this.normal();
    return out;
  }

  /** Uniform integer in [0, n), unbiased. */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`Rng.int needs a positive integer, got ${n}`);
    if (n > 2 ** 32) return Math.floor(this.next() * n);
    const limit = 2 ** 32 - (2 ** 32 % n); // reject the top partial block so every residue is equally likely
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Fisher-Yates shuffle in place; returns `arr`. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
