/** What attention needs beside the hidden states, per batch: position ids, the causal + padding bias, rotary tables. */

const FLOAT32_MIN = -3.4028234663852886e38; // torch.finfo(float32).min, HF's masked value

/**
 * HF's generate: position_ids = cumsum(attention_mask) - 1, padding positions set to 1. With `segmentRows` (packed
 * rows, TokenizedExample.segmentIds) the count restarts at each sequence of the row, as if it were a row of its own.
 */
export function defaultPositions(maskRows: number[][], segmentRows?: number[][]): number[][] {
  return maskRows.map((row, b) => {
    let seen = 0;
    return row.map((x, t) => {
      if (segmentRows && t > 0 && segmentRows[b][t] !== segmentRows[b][t - 1]) seen = 0;
      return x === 1 ? seen++ : 1;
    });
  });
}

/**
 * Additive attention bias [B, 1, T, T]: 0 where allowed, float32 min where causal or padding masks it, and with
 * `segmentRows` (packed rows) where the key is in another of the row's sequences: block-diagonal causal attention.
 */
export function attentionBias(maskRows: number[][], segmentRows?: number[][]): Float32Array {
  const B = maskRows.length, T = maskRows[0]?.length ?? 0;
  const bias = new Float32Array(B * T * T);
  for (let b = 0; b < B; b++) {
    const seg = segmentRows?.[b];
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        if (j > i || maskRows[b][j] === 0 || (seg && seg[j] !== seg[i])) bias[(b * T + i) * T + j] = FLOAT32_MIN;
      }
    }
  }
  return bias;
}

/**
 * PhiRotaryEmbedding in float32 as torch computes it: inv_freq = 1/theta^(2i/rot), freqs = pos·inv_freq,
 * cos/sin of cat(freqs, freqs). Returns [B, T, rot] tables.
 */
export function rotaryTables(positions: number[][], rot: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = rot / 2;
  const invFreq = Float32Array.from({ length: half }, (_, i) => Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / rot))));
  const rows = positions.flat();
  const cos = new Float32Array(rows.length * rot), sin = new Float32Array(rows.length * rot);
  rows.forEach((pos, r) => {
    for (let i = 0; i < half; i++) {
      const f = Math.fround(pos * invFreq[i]);
      cos[r * rot + i] = cos[r * rot + half + i] = Math.cos(f);
      sin[r * rot + i] = sin[r * rot + half + i] = Math.sin(f);
    }
  });
  return { cos, sin };
}
