import * as tf from "@tensorflow/tfjs";
import type { PhiConfig } from "../../model/config.js";
import { UserError } from "../../model/errors.js";
import { loraScale, type Adapter, type LoraWeights } from "../../model/peft.js";
import { linearFeatures, modulePath } from "../../model/phi-layout.js";
import { Rng } from "../../model/random.js";
import type { TargetModule } from "../types.js";
import { matMul2d } from "./ops.js";

export interface LoraOptions {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  useRslora: boolean;
  targetModules: readonly TargetModule[];
}

/**
 * torch.nn.init.kaiming_uniform_(A, a=√5), as PEFT's reset_lora_parameters does for lora_A [r, in]:
 * bound = gain·√(3/fan_in) with gain = √(2/(1+a²)) = √(1/3), i.e. U(−1/√in, 1/√in).
 */
export function kaimingUniformA(r: number, inFeatures: number, rng: Rng): Float32Array {
  const gain = Math.sqrt(2 / (1 + 5));
  const bound = gain * Math.sqrt(3 / inFeatures);
  return Float32Array.from({ length: r * inFeatures }, () => (2 * rng.next() - 1) * bound);
}

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}

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

/** Fresh LoRA layers (A kaiming-uniform, B zeros) on every target of every layer, in a fixed order. */
export function createLora(config: PhiConfig, o: LoraOptions, seed: number): LoraLayer[] {
  const scale = loraScale({ r: o.r, lora_alpha: o.loraAlpha, use_rslora: o.useRslora });
  const layers: LoraLayer[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const t of o.targetModules) {
      const [inF, outF] = linearFeatures(config, t);
      const module = modulePath(l, t);
      const a = kaimingUniformA(o.r, inF, new Rng(seed, `${module}.lora_A`));
      layers.push(new LoraLayer(module, inF, outF, o.r, scale, o.loraDropout, a, new Float32Array(outF * o.r)));
    }
  }
  return layers;
}

/** LoRA layers that start from an existing adapter; its rank and targets must be the requested ones. */
export function loraFromAdapter(config: PhiConfig, o: LoraOptions, adapter: Adapter, dir: string): LoraLayer[] {
  const want = [...o.targetModules].sort().join(",");
  const have = [...new Set(adapter.config.target_modules)].sort().join(",");
  if (adapter.config.r !== o.r) throw new UserError(`initAdapter ${dir}: rank r=${adapter.config.r}, but the run asks for r=${o.r}`);
  if (have !== want) throw new UserError(`initAdapter ${dir}: target_modules are ${have}, but the run asks for ${want}`);
  const byModule = new Map(adapter.weights.map((w) => [w.module, w]));
  const scale = loraScale({ r: o.r, lora_alpha: o.loraAlpha, use_rslora: o.useRslora });
  const layers: LoraLayer[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const t of o.targetModules) {
      const module = modulePath(l, t);
      const w = byModule.get(module);
      if (!w) throw new UserError(`initAdapter ${dir}: no weights for ${module}`);
      layers.push(new LoraLayer(module, w.inFeatures, w.outFeatures, o.r, scale, o.loraDropout, w.A, w.B));
    }
  }
  return layers;
}

/** Inference with an adapter left unmerged: one LoRA layer per module the adapter holds (no dropout). */
export function loraLayersOf(adapter: Adapter): LoraLayer[] {
  return adapter.weights.map((w) => new LoraLayer(w.module, w.inFeatures, w.outFeatures, adapter.config.r, adapter.scale, 0, w.A, w.B));
}

/** The model's adapter hook for these layers. */
export function adapterHooks(layers: LoraLayer[]): Map<string, (x: tf.Tensor2D) => tf.Tensor2D> {
  return new Map(layers.map((l) => [l.module, (x: tf.Tensor2D) => l.apply(x)]));
}
