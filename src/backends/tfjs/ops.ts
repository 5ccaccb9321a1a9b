/**
 * Products shaped for the wasm engine: XNNPACK runs only 2-D, non-transposed matMuls fast (~20x the transposed or
 * batched ones autodiff would produce), so every gradient here uses an explicit transpose and a plain 2-D product.
 */
import * as tf from "@tensorflow/tfjs";

/** a·b for 2-D a [n, k], b [k, m], with gradients to both (for trainable weights such as LoRA's A and B). */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, y, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([x, y]);
    return {
      value: tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ys] = saved as tf.Tensor2D[];
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(ys)), tf.matMul(tf.transpose(xs), dy as tf.Tensor2D)];
      },
    };
  });
  return f(a, b) as tf.Tensor2D;
}

/**
 * A frozen weight W [out, in] with its bias, materialized on demand: the forward product wants Wᵀ [in, out], the
 * backward one W [out, in]. Both return a tensor the caller disposes (a dense weight hands out a clone, which shares
 * its data); an NF4 weight dequantizes a fresh one, so nothing of its size outlives the product that used it.
 */
export interface FrozenWeight {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: tf.Tensor1D;
  /** Wᵀ [in, out]. */
  transposed(): tf.Tensor2D;
  /** W [out, in]. */
  natural(): tf.Tensor2D;
  /** Bytes this weight holds between calls. */
  readonly bytes: number;
  dispose(): void;
}

/** y = x·Wᵀ + b for x [n, in]; the gradient flows to x only (W and b are frozen). */
export function linear(x: tf.Tensor2D, w: FrozenWeight): tf.Tensor2D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.tidy(() => tf.add(tf.matMul(args[0] as tf.Tensor2D, w.transposed()), w.bias)),
    // W is re-materialized rather than saved, so a backward pass never holds every layer's weights at once
    gradFunc: (dy: tf.Tensor) => [tf.tidy(() => tf.matMul(dy as tf.Tensor2D, w.natural()))],
  }));
  return f(x) as tf.Tensor2D;
}

/** A dense frozen weight from W [out, in] as stored in the checkpoint; Wᵀ is kept, W is re-derived for backward. */
export function denseWeight(data: Float32Array, outFeatures: number, inFeatures: number, bias: Float32Array): FrozenWeight {
  const wT = tf.tidy(() => tf.transpose(tf.tensor2d(data, [outFeatures, inFeatures])));
  const b = tf.tensor1d(bias);
  return {
    inFeatures,
    outFeatures,
    bias: b,
    bytes: (data.length + bias.length) * 4,
    transposed: () => tf.clone(wT),
    natural: () => tf.transpose(wT),
    dispose: () => {
      wT.dispose();
      b.dispose();
    },
  };
}
