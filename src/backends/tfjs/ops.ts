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

/** N plain 2-D products a[i]·b[i] for a [N, m, k], b [N, k, p]: pieces by SplitV (see wasm-kernels.ts), one concat. */
function perSlice(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [N, m, k] = a.shape;
  const p = b.shape[2];
  return tf.tidy(() => {
    if (N === 1) return tf.matMul(a.reshape([m, k]) as tf.Tensor2D, b.reshape([k, p]) as tf.Tensor2D).reshape([1, m, p]) as tf.Tensor3D;
    const as = tf.split(a.reshape([N * m, k]), N, 0) as tf.Tensor2D[];
    const bs = tf.split(b.reshape([N * k, p]), N, 0) as tf.Tensor2D[];
    return tf.concat(as.map((x, i) => tf.matMul(x, bs[i])), 0).reshape([N, m, p]) as tf.Tensor3D;
  });
}

/**
 * Batched a·b for a [N, m, k], b [N, k, p] (attention's per-head products), with gradients to both, as 2-D products:
 * the wasm engine runs a batched matMul on its slow path (~3 GFLOP/s against ~10x that for the same work split
 * per head at T 256).
 */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, y, save] = args as [tf.Tensor3D, tf.Tensor3D, tf.GradSaveFunc];
    save([x, y]);
    return {
      value: perSlice(x, y),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ys] = saved as tf.Tensor3D[];
        const d = dy as tf.Tensor3D;
        return [
          tf.tidy(() => perSlice(d, tf.transpose(ys, [0, 2, 1]))),
          tf.tidy(() => perSlice(tf.transpose(xs, [0, 2, 1]), d)),
        ];
      },
    };
  });
  return f(a, b) as tf.Tensor3D;
}

/**
 * A frozen weight W [out, in] with its bias, materialized on demand: the forward product wants Wᵀ [in, out], the
 * backward one W [out, in]. Call both inside a tf.tidy and never dispose the result yourself: a dense weight hands out
 * the tensor it holds (XNNPACK packs a weight once per tensor and reuses that while the tensor lives; a clone would be
 * a copy, packed again every time), an NF4 weight dequantizes a fresh one that the tidy disposes, so nothing of its
 * size outlives the product that used it.
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
  /** Set on large dense weights: W cut into row blocks (output features), multiplied block by block (see linear). */
  readonly blocks?: readonly WeightBlock[];
  dispose(): void;
}

/** Output features [start, start + size) of a dense weight: Wᵀ [in, size], W [size, in] (or null: derived), bias. */
export interface WeightBlock {
  start: number;
  size: number;
  wT: tf.Tensor2D;
  w: tf.Tensor2D | null;
  bias: tf.Tensor1D;
}

/**
 * y = x·Wᵀ + b for x [n, in]; the gradient flows to x only (W and b are frozen). A blocked weight (lm_head) is
 * multiplied block by block: XNNPACK streams all of a weight once per few rows of x, so a 100 MB weight runs from
 * memory while a 4 MB block stays in cache (a 512-token step of the 512-wide test model: 2.18 → 1.87 s).
 */
export function linear(x: tf.Tensor2D, w: FrozenWeight): tf.Tensor2D {
  const blocks = w.blocks;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const a = args[0] as tf.Tensor2D;
    return {
      // the bias goes into the product (XNNPACK adds it while writing the output)
      value: tf.tidy(() => blocks
        ? tf.concat(blocks.map((b) => tf.fused.matMul({ a, b: b.wT, bias: b.bias })), 1) as tf.Tensor2D
        : tf.fused.matMul({ a, b: w.transposed(), bias: w.bias })),
      // W is re-materialized rather than saved, so a backward pass never holds every layer's weights at once
      gradFunc: (dy: tf.Tensor) => [blocks ? blockedInputGrad(dy as tf.Tensor2D, blocks) : tf.tidy(() => tf.matMul(dy as tf.Tensor2D, w.natural()))],
    };
  });
  return f(x) as tf.Tensor2D;
}

/** dy·W = Σ over blocks of dy[:, block]·W[block]: a running sum, each block's slice of dy freed as it goes. */
function blockedInputGrad(dy: tf.Tensor2D, blocks: readonly WeightBlock[]): tf.Tensor2D {
  const n = dy.shape[0];
  let sum: tf.Tensor2D | null = null;
  for (const b of blocks) {
    const prev: tf.Tensor2D | null = sum;
    sum = tf.tidy(() => {
      const part = tf.matMul(tf.slice(dy, [0, b.start], [n, b.size]), b.w ?? tf.transpose(b.wT));
      return (prev ? tf.add(prev, part) : part) as tf.Tensor2D;
    });
    prev?.dispose();
  }
  return sum!;
}

/**
 * Dense weights up to this many values keep W [out, in] beside Wᵀ, so a backward pass multiplies by it directly
 * instead of transposing Wᵀ every time (0.2 s for a 51200×512 lm_head on wasm); larger ones, e.g. phi-2's lm_head,
 * would not leave room in wasm's 4 GiB heap and transpose per backward.
 */
export const KEEP_NATURAL_MAX_VALUES = 2 ** 25;

/** Dense weights above this size are held in blocks of output features of about this many bytes (see linear). */
export const BLOCK_BYTES = 4 * 2 ** 20;

/** A dense frozen weight from W [out, in] as stored in the checkpoint (see KEEP_NATURAL_MAX_VALUES, BLOCK_BYTES). */
export function denseWeight(data: Float32Array, outFeatures: number, inFeatures: number, bias: Float32Array): FrozenWeight {
  const keepNatural = data.length <= KEEP_NATURAL_MAX_VALUES;
  const rows = data.length * 4 > 2 * BLOCK_BYTES ? Math.max(64, Math.floor(BLOCK_BYTES / (4 * inFeatures) / 64) * 64) : outFeatures;
  const blocks: WeightBlock[] = [];
  for (let start = 0; start < outFeatures; start += rows) {
    const size = Math.min(rows, outFeatures - start);
    const w = tf.tensor2d(data.subarray(start * inFeatures, (start + size) * inFeatures), [size, inFeatures]);
    blocks.push({ start, size, wT: tf.transpose(w), w: keepNatural ? w : (w.dispose(), null), bias: tf.tensor1d(bias.subarray(start, start + size)) });
  }
  const held: tf.Tensor[] = blocks.flatMap((b) => [b.wT, b.bias, ...(b.w ? [b.w] : [])]);
  const dispose = () => tf.dispose(held);
  if (blocks.length > 1) {
    const fullBias = tf.tensor1d(bias);
    held.push(fullBias);
    // whole-weight views for callers that want one tensor; linear() uses the blocks
    return {
      inFeatures, outFeatures, blocks, dispose,
      bias: fullBias,
      bytes: (data.length * (keepNatural ? 2 : 1) + 2 * bias.length) * 4,
      transposed: () => tf.concat(blocks.map((b) => b.wT), 1) as tf.Tensor2D,
      natural: () => tf.concat(blocks.map((b) => b.w ?? tf.transpose(b.wT)), 0) as tf.Tensor2D,
    };
  }
  const [{ w, wT, bias: b }] = blocks;
  return {
    inFeatures,
    outFeatures,
    bias: b,
    bytes: (data.length * (w ? 2 : 1) + bias.length) * 4,
    transposed: () => wT,
    natural: () => w ?? tf.transpose(wT),
    dispose,
  };
}
