/** A frozen linear weight held as NF4 in JS memory (outside the wasm heap) and dequantized on the fly for each product. */
import * as tf from "@tensorflow/tfjs";
import { dequantizeNf4, dequantizeNf4Transposed, nf4Bytes, quantizeNf4, type Nf4Options, type Nf4Tensor } from "../../model/nf4.js";
import type { FrozenWeight } from "./ops.js";

export function nf4Weight(data: Float32Array, outFeatures: number, inFeatures: number, bias: Float32Array, opts: Nf4Options = {}): FrozenWeight {
  return nf4WeightFrom(quantizeNf4(data, [outFeatures, inFeatures], opts), bias);
}

/** Wrap an already quantized W [out, in]. */
export function nf4WeightFrom(q: Nf4Tensor, bias: Float32Array): FrozenWeight {
  const [outFeatures, inFeatures] = q.shape;
  const b = tf.tensor1d(bias);
  return {
    inFeatures,
    outFeatures,
    bias: b,
    bytes: nf4Bytes(q) + bias.length * 4,
    transposed: () => tf.tensor2d(dequantizeNf4Transposed(q), [inFeatures, outFeatures]),
    natural: () => tf.tensor2d(dequantizeNf4(q), [outFeatures, inFeatures]),
    dispose: () => b.dispose(),
  };
}
