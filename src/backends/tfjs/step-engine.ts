/** The tfjs engine's side of the shared trainer: PhiModel on tfjs, LoRA as tf variables, ./step.ts' micro-step. */
import type { PhiConfig } from "../../model/config.js";
import type { LoraWeights } from "../../model/peft.js";
import type { StepEngine, StepEngineFactory } from "../training/step-engine.js";
import type { TrainingHyperparameters } from "../training/spec.js";
import type { BackendInfo } from "../types.js";
import { checkWasmHeap } from "./heap-budget.js";
import { loraLayers } from "./lora.js";
import { PhiModel } from "./phi.js";
import { evalLoss, microStep } from "./step.js";

export function tfjsStepEngine(info: BackendInfo): StepEngineFactory {
  return {
    info,
    checkFits(config: PhiConfig, hp: TrainingHyperparameters, longest: number): void {
      // the threaded wasm build hangs when its heap runs out: refuse a step that cannot fit before loading anything
      if (info.engine === "wasm") checkWasmHeap(config, hp, longest);
    },
    async load(config: PhiConfig, read: (name: string) => Promise<Float32Array>, hp: TrainingHyperparameters, weights: LoraWeights[]): Promise<StepEngine> {
      const lora = loraLayers(weights, hp);
      let model: PhiModel;
      try {
        model = await PhiModel.load(config, read, { quant: hp.quant });
      } catch (e) {
        lora.forEach((l) => l.dispose());
        throw e;
      }
      return {
        microStep: async (batch, weight, seeds) => microStep(model, lora, batch, weight, seeds, hp.gradientCheckpointing),
        evalLoss: async (batch) => evalLoss(model, lora, batch),
        setParams: (params) => lora.forEach((l, i) => l.assign(params[2 * i], params[2 * i + 1])),
        dispose: () => {
          lora.forEach((l) => l.dispose());
          model.dispose();
        },
      };
    },
  };
}
