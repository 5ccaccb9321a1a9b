/**
 * Next-token choice from one row of logits, in the order HF's `generate` applies its processors:
 * repetition penalty, then temperature, top-k, top-p; temperature 0 is greedy (argmax after the penalty).
 * Neither top-k nor top-p sorts the vocabulary: top-k keeps a sorted window of k, top-p finds its nucleus by a
 * quickselect on probability mass over the few tokens that can be in it.
 */

export interface SamplerOptions {
  temperature: number;
  topK: number; // 0 = off
  topP: number; // 1 = off
  repetitionPenalty: number; // 1 = off
}

/** A uniform [0, 1) source; `Rng` from src/model/random.ts in production, seeded per request. */
export interface UniformSource {
  next(): number;
}

export class Sampler {
  // vocab-sized scratch buffers, reused across steps
  private scores = new Float32Array(0);
  private weights = new Float64Array(0);
  private ids = new Uint32Array(0);

  constructor(
    readonly options: SamplerOptions,
    private readonly random: UniformSource,
  ) {}

  /** `logits` is one position's row; `seen` the ids the repetition penalty applies to (prompt and completion). */
  sample(logits: Float32Array, seen: ReadonlySet<number>): number {
    const v = logits.length;
    if (this.scores.length !== v) this.scores = new Float32Array(v);
    const scores = this.scores;
    scores.set(logits);
    const p = this.options.repetitionPenalty;
    if (p !== 1) {
      for (const id of seen) {
        if (id < v) scores[id] = scores[id] < 0 ? scores[id] * p : scores[id] / p;
      }
    }
    if (this.options.temperature === 0) return argmax(scores);
    const { ids, n } = this.keep(scores);
    let total = 0;
    for (let i = 0; i < n; i++) total += this.weights[ids[i]];
    return draw(this.weights, ids, n, total, this.random);
  }

  /**
   * The ids HF's warpers keep (the first `n` of `ids`, in no particular order), with `weights[id]` =
   * exp((score - max) / temperature) for each of them. Exposed for the test that holds it to HF's rule.
   */
  keep(scores: Float32Array): { ids: Uint32Array; n: number; weights: Float64Array } {
    const { temperature, topK, topP } = this.options;
    const v = scores.length;
    if (this.weights.length !== v) {
      this.weights = new Float64Array(v);
      this.ids = new Uint32Array(v);
    }
    const w = this.weights, ids = this.ids;
    const max = scores[argmax(scores)];
    let n = 0;
    let total = 0;
    if (topK > 0 && topK < v) {
      // HF's TopKLogitsWarper: every score >= the k-th largest survives (ties at the k-th included)
      const kth = kthLargest(scores, topK);
      for (let i = 0; i < v; i++) if (scores[i] >= kth) ids[n++] = i;
      for (let i = 0; i < n; i++) total += w[ids[i]] = Math.exp((scores[ids[i]] - max) / temperature);
    } else {
      for (let i = 0; i < v; i++) total += w[i] = Math.exp((scores[i] - max) / temperature);
      if (topP >= 1) {
        for (let i = 0; i < v; i++) ids[i] = i;
        return { ids, n: v, weights: w };
      }
      // a token of the nucleus has probability above (1 - top_p) / vocab (the mass below it, itself included, is
      // more than 1 - top_p, spread over at most vocab tokens): only those are candidates (half of it: rounding)
      const floor = ((1 - topP) / v) * total * 0.5;
      for (let i = 0; i < v; i++) if (w[i] >= floor) ids[n++] = i;
    }
    if (topP < 1) n = nucleus(w, ids, n, topP * total);
    return { ids, n, weights: w };
  }
}

/** HF's descending order: larger weight first, then (ties) lower id first. */
function before(w: Float64Array, a: number, b: number): boolean {
  return w[a] > w[b] || (w[a] === w[b] && a < b);
}

/**
 * HF's TopPLogitsWarper without sorting: in descending order a token stays when the mass strictly above it is below
 * `target` (= top_p · total). Quickselect on mass: partition the candidates around a pivot; if the mass before the
 * pivot already reaches what is still needed, the nucleus ends before it, else everything up to the pivot stays.
 * Reorders `ids[0, n)` so that the kept ones come first; returns how many (at least one).
 */
function nucleus(w: Float64Array, ids: Uint32Array, n: number, target: number): number {
  let lo = 0, hi = n, need = target;
  while (hi > lo && need > 0) {
    if (hi - lo <= 16) {
      const rest = Array.from(ids.subarray(lo, hi)).sort((a, b) => (before(w, a, b) ? -1 : 1));
      for (const id of rest) {
        if (need <= 0) break;
        ids[lo++] = id;
        need -= w[id];
      }
      break;
    }
    // median of three as the pivot, moved to the end of the range
    const mid = (lo + hi) >> 1;
    const [a, b, c] = [ids[lo], ids[mid], ids[hi - 1]];
    const pivot = before(w, a, b) ? (before(w, b, c) ? b : before(w, a, c) ? c : a) : before(w, a, c) ? a : before(w, b, c) ? c : b;
    const at = pivot === a ? lo : pivot === b ? mid : hi - 1;
    ids[at] = ids[hi - 1];
    ids[hi - 1] = pivot;
    let m = lo, mass = 0;
    for (let i = lo; i < hi - 1; i++) {
      const id = ids[i];
      if (before(w, id, pivot)) {
        ids[i] = ids[m];
        ids[m++] = id;
        mass += w[id];
      }
    }
    ids[hi - 1] = ids[m];
    ids[m] = pivot;
    if (mass >= need) {
      hi = m; // the pivot and all after it are out
    } else {
      need -= mass + w[pivot]; // all before the pivot and the pivot stay
      lo = m + 1;
    }
  }
  return Math.max(lo, 1);
}

/** Draw one of `ids[0, n)` in proportion to its weight. */
function draw(w: Float64Array, ids: Uint32Array, n: number, total: number, random: UniformSource): number {
  let u = random.next() * total;
  for (let i = 0; i < n; i++) {
    u -= w[ids[i]];
    if (u < 0) return ids[i];
  }
  return ids[n - 1];
}

/** The k-th largest value of `s` (1-based), by a window of the k largest kept sorted (k is small next to the vocab). */
function kthLargest(s: Float32Array, k: number): number {
  const best = Array.from(s.subarray(0, k)).sort((a, b) => b - a);
  for (let i = k; i < s.length; i++) {
    const x = s[i];
    if (x <= best[k - 1]) continue;
    let j = k - 1;
    while (j > 0 && x > best[j - 1]) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = x;
  }
  return best[k - 1];
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}
