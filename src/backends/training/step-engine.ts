/**
 * The one thing a training engine gives the shared trainer loop (design.md, "Interfaces at the seams"): forward and
 * backward of one micro-batch on the frozen base plus the current LoRA tensors.
 */
import type { Batch } from "../../data/batcher.js";
import type { PhiConfig } from "../../model/config.js";
import type { LoraWeights } from "../../model/peft.js";
import type { BackendInfo } from "../types.js";
import type { TrainingHyperparameters } from "./spec.js";

export interface MicroStepResult {
  /** This micro-batch's loss times `weight` (the caller's share of the step's mean). */
  loss: number;
  /** Gradients of every LoRA tensor (Aᵀ, Bᵀ of each module, in the trainer's order: ./lora.ts), times `weight`. */
  grads: Float32Array[];
}

/** Σ cross-entropy over a batch's counted positions, and how many counted (HF's eval_loss is the ratio over a set). */
export interface LossSum {
  sum: number;
  count: number;
}

export interface StepEngine {
  /**
   * `weight` × the mean cross-entropy over the batch's counted positions, and its gradients. `dropoutSeeds` (one per
   * LoRA module, from the trainer's generator) fix the dropout masks; null = no dropout.
   */
  microStep(batch: Batch, weight: number, dropoutSeeds: number[] | null): Promise<MicroStepResult>;
  /** The forward only, without dropout: the loss summed over the batch's counted positions (evaluation). */
  evalLoss(batch: Batch): Promise<LossSum>;
  /** The optimizer changed the LoRA tensors: `params` in the trainer's layout (./lora.ts). */
  setParams(params: Float32Array[]): void;
  dispose(): void;
}

export interface StepEngineFactory {
  readonly info: BackendInfo;
  /** Refuse, with one clear line, a job this engine cannot fit; called before the model loads. */
  checkFits(config: PhiConfig, hp: TrainingHyperparameters, longestSequence: number): void;
  /** The frozen base from `read` (a checkpoint tensor by its HF name, as float32), with these LoRA tensors. */
  load(config: PhiConfig, read: (name: string) => Promise<Float32Array>, hp: TrainingHyperparameters, lora: LoraWeights[]): Promise<StepEngine>;
}
