import * as tf from "@tensorflow/tfjs";

export const IGNORE_INDEX = -100;

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

/**
 * Sum over positions of weight * cross-entropy(logits[n], targets[n]); positions with target -100 weigh 0. With
 * weight 1/count this is HF's mean loss. The gradient (softmax − one-hot) · weight is written by hand: the autodiff
 * of a gather needs UnsortedSegmentSum, which the wasm engine lacks.
 */
export function maskedCrossEntropy(logits: tf.Tensor2D, targets: Int32Array, weight: number): tf.Scalar {
  const [n, vocab] = logits.shape;
  if (targets.length !== n) throw new Error(`maskedCrossEntropy: ${targets.length} targets for ${n} positions`);
  const safe = new Int32Array(n);
  const flat = new Int32Array(n);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const ok = targets[i] !== IGNORE_INDEX;
    if (ok && (targets[i] < 0 || targets[i] >= vocab)) throw new Error(`label ${targets[i]} is outside the vocabulary (${vocab})`);
    safe[i] = ok ? targets[i] : 0;
    flat[i] = i * vocab + safe[i];
    w[i] = ok ? weight : 0;
  }
  const ce = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const wT = tf.tensor1d(w);
    const idx = tf.tensor1d(safe, "int32");
    const picked = tf.gather(tf.reshape(xs, [-1]), tf.tensor1d(flat, "int32"));
    const value = tf.sum(tf.mul(tf.sub(tf.logSumExp(xs, 1), picked), wT)) as tf.Scalar;
    save([xs, wT, idx]);
    const gradFunc = (dy: tf.Scalar, saved: tf.Tensor[]) => {
      const [xs0, w0, idx0] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
      const g = tf.sub(tf.softmax(xs0), tf.oneHot(idx0, vocab));
      return tf.mul(g, tf.mul(tf.reshape(w0, [n, 1]), dy));
    };
    return { value, gradFunc };
  });
  return ce(logits) as tf.Scalar;
}
