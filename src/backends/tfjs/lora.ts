import * as tf from "@tensorflow/tfjs";
import type { PhiConfig } from "../../model/config.js";
import { loraScale, type Adapter, type LoraWeights } from "../../model/peft.js";
import { initialLora, transpose, type LoraOptions } from "../training/lora.js";
import { matMul2d } from "./ops.js";

/**
 * tf.dropout with its gradient written by hand: the same seed gives the same mask, so the backward pass draws it again
 * (dy masked and scaled alike) instead of keeping the mask and autodiff's intermediates of every LoRA input.
 */
function seededDropout(x: tf.Tensor2D, rate: number, seed: number): tf.Tensor2D {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.tidy(() => tf.dropout(args[0] as tf.Tensor2D, rate, undefined, seed)),
    gradFunc: (dy: tf.Tensor) => tf.tidy(() => tf.dropout(dy, rate, undefined, seed)),
  }));
  return f(x) as tf.Tensor2D;
}

/**
 * One LoRA pair on a frozen linear layer: output `lora_B(lora_A(dropout(x))) · scale`, added to the base output by the
 * model's adapter hook. The trainable tensors are held transposed (Aᵀ [in, r], Bᵀ [r, out]) so both products are
 * plain 2-D ones; the PEFT layout (A [r, in], B [out, r]) is what `weights()` returns and `load()` takes.
 */
export class LoraLayer {
  readonly at: tf.Variable<tf.Rank.R2>;
  readonly bt: tf.Variable<tf.Rank.R2>;

  constructor(
    readonly module: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly r: number,
    readonly scale: number,
    readonly dropout: number,
    a: Float32Array,
    b: Float32Array,
  ) {
    this.at = tf.variable(tf.tensor2d(transpose(a, r, inFeatures), [inFeatures, r]), true, `${module}.lora_A`);
    this.bt = tf.variable(tf.tensor2d(transpose(b, outFeatures, r), [r, outFeatures]), true, `${module}.lora_B`);
  }

  /** The adapter hook's function; `dropoutSeed` given = training (dropout on the LoRA input only, as PEFT). */
  apply(x: tf.Tensor2D, dropoutSeed?: number): tf.Tensor2D {
    const input = dropoutSeed !== undefined && this.dropout > 0 ? seededDropout(x, this.dropout, dropoutSeed) : x;
    return tf.mul(matMul2d(matMul2d(input, this.at), this.bt), this.scale) as tf.Tensor2D;
  }

  /** Aᵀ [in, r] and Bᵀ [r, out], the trainer's layout (../training/lora.ts). */
  assign(at: Float32Array, bt: Float32Array): void {
    tf.tidy(() => {
      this.at.assign(tf.tensor2d(at, this.at.shape));
      this.bt.assign(tf.tensor2d(bt, this.bt.shape));
    });
  }

  /** A [r, in] and B [out, r] as PEFT stores them. */
  weights(): LoraWeights {
    return {
      module: this.module,
      A: transpose(this.at.dataSync() as Float32Array, this.inFeatures, this.r),
      B: transpose(this.bt.dataSync() as Float32Array, this.r, this.outFeatures),
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
    };
  }

  dispose(): void {
    this.at.dispose();
    this.bt.dispose();
  }
}

/** Fresh LoRA layers (A kaiming-uniform, B zeros) on every target of every layer, in the trainer's order. */
export function createLora(config: PhiConfig, o: LoraOptions, seed: number): LoraLayer[] {
  return loraLayers(initialLora(config, o, seed), o);
}

/** tfjs layers holding these weights, with the run's rank, scale and dropout. */
export function loraLayers(weights: LoraWeights[], o: LoraOptions): LoraLayer[] {
  const scale = loraScale({ r: o.r, lora_alpha: o.loraAlpha, use_rslora: o.useRslora });
  return weights.map((w) => new LoraLayer(w.module, w.inFeatures, w.outFeatures, o.r, scale, o.loraDropout, w.A, w.B));
}

/** Inference with an adapter left unmerged: one LoRA layer per module the adapter holds (no dropout). */
export function loraLayersOf(adapter: Adapter): LoraLayer[] {
  return adapter.weights.map((w) => new LoraLayer(w.module, w.inFeatures, w.outFeatures, adapter.config.r, adapter.scale, 0, w.A, w.B));
}

/** The model's adapter hook for these layers. */
export function adapterHooks(layers: LoraLayer[]): Map<string, (x: tf.Tensor2D) => tf.Tensor2D> {
  return new Map(layers.map((l) => [l.module, (x: tf.Tensor2D) => l.apply(x)]));
}
