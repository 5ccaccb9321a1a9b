import { IGNORE_INDEX } from "../../data/encode.js";

/**
 * HF causal-LM targets: position t of each row predicts label t+1; the last position and labels of -100 count for
 * nothing. Returns the target per position (-100 where ignored) and how many positions count.
 */
export function shiftLabels(labels: Int32Array, batch: number, seqLen: number): { targets: Int32Array; count: number } {
  const targets = new Int32Array(batch * seqLen).fill(IGNORE_INDEX);
  let count = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t + 1 < seqLen; t++) {
      const y = labels[b * seqLen + t + 1];
      targets[b * seqLen + t] = y;
      if (y !== IGNORE_INDEX) count++;
    }
  }
  return { targets, count };
}
