import * as tf from "@tensorflow/tfjs";
import { IGNORE_INDEX } from "../../data/encode.js";

/**
 * Sum over positions of weight * cross-entropy(logits[n], targets[n]); positions with target -100 weigh 0. With
 * weight 1/count this is HF's mean loss. The gradient (softmax − one-hot) · weight is written by hand: the autodiff
 * of a gather needs UnsortedSegmentSum, which the wasm engine lacks.
 * Over a [positions, vocab] tensor only fast kernels run: one softmax (XNNPACK's; the wasm engine's exp is scalar and
 * ~6x slower) whose row max p* gives logsumexp = max(logits) − log(p*) without underflow (p* ≥ 1/vocab), two row
 * maxima, and backward one product and one copy with the targets' entries replaced (no one-hot tensor).
 */
export function maskedCrossEntropy(logits: tf.Tensor2D, targets: Int32Array, weight: number): tf.Scalar {
  const [n, vocab] = logits.shape;
  if (targets.length !== n) throw new Error(`maskedCrossEntropy: ${targets.length} targets for ${n} positions`);
  const pairs = new Int32Array(2 * n);
  const flat = new Int32Array(n);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const ok = targets[i] !== IGNORE_INDEX;
    if (ok && (targets[i] < 0 || targets[i] >= vocab)) throw new Error(`label ${targets[i]} is outside the vocabulary (${vocab})`);
    const t = ok ? targets[i] : 0;
    pairs[2 * i] = i;
    pairs[2 * i + 1] = t;
    flat[i] = i * vocab + t;
    w[i] = ok ? weight : 0;
  }
  const ce = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xs, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const wT = tf.tensor1d(w);
    const flatT = tf.tensor1d(flat, "int32");
    const probs = tf.softmax(xs);
    const lse = tf.sub(tf.max(xs, 1), tf.log(tf.max(probs, 1)));
    const picked = tf.gather(tf.reshape(xs, [-1]), flatT);
    const value = tf.sum(tf.mul(tf.sub(lse, picked), wT)) as tf.Scalar;
    save([probs, wT, flatT]);
    // a tidy: tfjs keeps what a custom gradient leaves behind until the whole backward pass ends
    const gradFunc = (dy: tf.Scalar, saved: tf.Tensor[]) => tf.tidy(() => {
      const [p, w0, flat0] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
      const c = tf.mul(w0, dy);
      const atTargets = tf.mul(tf.sub(tf.gather(tf.reshape(p, [-1]), flat0), 1), c);
      return tf.tensorScatterUpdate(tf.mul(p, tf.reshape(c, [n, 1])), tf.tensor2d(pairs, [n, 2], "int32"), atTargets);
    });
    return { value, gradFunc };
  });
  return ce(logits) as tf.Scalar;
}
