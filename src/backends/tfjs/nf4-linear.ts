/** A frozen linear weight held as NF4 in JS memory (outside the wasm heap) and dequantized on the fly for each product. */
import * as tf from "@tensorflow/tfjs";
import { dequantizeNf4, dequantizeNf4Transposed, nf4Bytes, quantizeNf4, type Nf4Options, type Nf4Tensor } from "../../model/nf4.js";
import type { FrozenWeight } from "./ops.js";

export function nf4Weight(data: Float32Array, outFeatures: number, inFeatures: number, bias: Float32Array, opts: Nf4Options = {}): FrozenWeight {
  return nf4WeightFrom(quantizeNf4(data, [outFeatures, inFeatures], opts), bias);
}

// one dequantization buffer per size, shared by all weights: the wasm engine copies a new tensor's values into its
// heap, so the buffer is free again as soon as the tensor exists (other engines may keep the array: they get a new one)
const scratch = new Map<number, Float32Array<ArrayBuffer>>();
function buffer(n: number): Float32Array<ArrayBuffer> {
  if (tf.getBackend() !== "wasm") return new Float32Array(n);
  let b = scratch.get(n);
  if (!b) scratch.set(n, (b = new Float32Array(n)));
  return b;
}

/** Wrap an already quantized W [out, in]. */
export function nf4WeightFrom(q: Nf4Tensor, bias: Float32Array): FrozenWeight {
  const [outFeatures, inFeatures] = q.shape;
  const n = outFeatures * inFeatures;
  const b = tf.tensor1d(bias);
  return {
    inFeatures,
    outFeatures,
    bias: b,
    bytes: nf4Bytes(q) + bias.length * 4,
    transposed: () => tf.tensor2d(dequantizeNf4Transposed(q, buffer(n)), [inFeatures, outFeatures]),
    natural: () => tf.tensor2d(dequantizeNf4(q, buffer(n)), [outFeatures, inFeatures]),
    dispose: () => b.dispose(),
  };
}
