/**
 * Next-token choice from one row of logits, in the order HF's `generate` applies its processors:
 * repetition penalty, then temperature, top-k, top-p; temperature 0 is greedy (argmax after the penalty).
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
    return this.sampleFrom(scores);
  }

  private sampleFrom(scores: Float32Array): number {
    const { temperature, topK, topP } = this.options;
    const v = scores.length;
    const max = scores[argmax(scores)];
    if (this.weights.length !== v) this.weights = new Float64Array(v);
    const w = this.weights;
    let order: Uint32Array;
    let total = 0;
    if (topK > 0) {
      // top-k first, on the raw scores: only k exponentials
      order = topIndices(scores, Math.min(topK, v));
      for (const i of order) total += w[i] = Math.exp((scores[i] - max) / temperature);
    } else {
      for (let i = 0; i < v; i++) total += w[i] = Math.exp((scores[i] - max) / temperature);
      if (topP >= 1) return draw(w, null, v, total, this.random);
      // a token inside the nucleus has probability above (1 - top_p) / vocab: sort only those
      const floor = ((1 - topP) / v) * total * 0.5;
      const ids: number[] = [];
      for (let i = 0; i < v; i++) if (w[i] >= floor) ids.push(i);
      order = Uint32Array.from(ids).sort((a, b) => w[b] - w[a] || a - b);
    }
    // nucleus: the shortest prefix whose mass reaches top_p (at least one token)
    let keep = order.length;
    if (topP < 1) {
      let cum = 0;
      for (let i = 0; i < order.length; i++) {
        cum += w[order[i]] / total;
        if (cum >= topP) {
          keep = i + 1;
          break;
        }
      }
    }
    let kept = 0;
    for (let i = 0; i < keep; i++) kept += w[order[i]];
    return draw(w, order, keep, kept, this.random);
  }
}

/** Draw an index in proportion to `w` over the first `n` of `order` (all of `w` when null). */
function draw(w: Float64Array, order: Uint32Array | null, n: number, total: number, random: UniformSource): number {
  let u = random.next() * total;
  for (let i = 0; i < n; i++) {
    const id = order ? order[i] : i;
    u -= w[id];
    if (u < 0) return id;
  }
  return order ? order[n - 1] : n - 1;
}

/** The indices of the `k` largest values, largest first (ties: lower id first), by a sorted window. */
function topIndices(w: Float32Array, k: number): Uint32Array {
  const before = (a: number, b: number) => w[a] > w[b] || (w[a] === w[b] && a < b);
  const best = Array.from({ length: k }, (_, i) => i).sort((a, b) => (before(a, b) ? -1 : 1));
  for (let i = k; i < w.length; i++) {
    if (!before(i, best[k - 1])) continue;
    let j = k - 1;
    while (j > 0 && before(i, best[j - 1])) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = i;
  }
  return Uint32Array.from(best);
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}
