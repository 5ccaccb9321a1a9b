/**
 * The LoRA tensors the trainer owns, framework-free: PEFT's init (A kaiming-uniform, B zeros) or an existing adapter,
 * and the layout every engine and the optimizer state share: per module Aᵀ [in, r] then Bᵀ [r, out] (so both LoRA
 * products are plain 2-D ones), in layer order then target order. A checkpoint's optimizer moments are in this layout,
 * which is why a run resumes on either engine.
 */
import type { PhiConfig } from "../../model/config.js";
import { UserError } from "../../model/errors.js";
import type { Adapter, LoraWeights } from "../../model/peft.js";
import { linearFeatures, modulePath } from "../../model/phi-layout.js";
import { Rng } from "../../model/random.js";
import type { TargetModule } from "./spec.js";

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

export function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}

/** Fresh LoRA weights (A kaiming-uniform, B zeros) on every target of every layer, in a fixed order. */
export function initialLora(config: PhiConfig, o: LoraOptions, seed: number): LoraWeights[] {
  const out: LoraWeights[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const t of o.targetModules) {
      const [inFeatures, outFeatures] = linearFeatures(config, t);
      const module = modulePath(l, t);
      const A = kaimingUniformA(o.r, inFeatures, new Rng(seed, `${module}.lora_A`));
      out.push({ module, A, B: new Float32Array(outFeatures * o.r), inFeatures, outFeatures });
    }
  }
  return out;
}

/** An existing adapter's weights in the run's order; its rank and targets must be the requested ones. */
export function loraOfAdapter(config: PhiConfig, o: LoraOptions, adapter: Adapter, dir: string): LoraWeights[] {
  const want = [...o.targetModules].sort().join(",");
  const have = [...new Set(adapter.config.target_modules)].sort().join(",");
  if (adapter.config.r !== o.r) throw new UserError(`initAdapter ${dir}: rank r=${adapter.config.r}, but the run asks for r=${o.r}`);
  if (have !== want) throw new UserError(`initAdapter ${dir}: target_modules are ${have}, but the run asks for ${want}`);
  const byModule = new Map(adapter.weights.map((w) => [w.module, w]));
  const out: LoraWeights[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const t of o.targetModules) {
      const w = byModule.get(modulePath(l, t));
      if (!w) throw new UserError(`initAdapter ${dir}: no weights for ${modulePath(l, t)}`);
      out.push(w);
    }
  }
  return out;
}

/** [Aᵀ, Bᵀ] of each module, flattened: the trainer's parameter list. */
export function loraParams(weights: LoraWeights[], r: number): Float32Array[] {
  return weights.flatMap((w) => [transpose(w.A, r, w.inFeatures), transpose(w.B, w.outFeatures, r)]);
}

/** Back to PEFT's A [r, in], B [out, r] for writing an adapter. */
export function loraWeightsOf(params: Float32Array[], like: LoraWeights[], r: number): LoraWeights[] {
  return like.map((w, i) => ({
    ...w, A: transpose(params[2 * i], w.inFeatures, r), B: transpose(params[2 * i + 1], r, w.outFeatures),
  }));
}

/** Names of the trainer's parameters, as its checkpoints record them. */
export function loraParamNames(weights: LoraWeights[]): string[] {
  return weights.flatMap((w) => [`${w.module}.lora_A`, `${w.module}.lora_B`]);
}
