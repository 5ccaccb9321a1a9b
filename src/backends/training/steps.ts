import { fieldError } from "../../model/errors.js";
import { MAX_TRAINING_STEPS, type TrainingHyperparameters } from "./spec.js";
import { hyperparameterField } from "./validate.js";

type StepInputs = Pick<TrainingHyperparameters, "maxSteps" | "epochs" | "batchSize" | "gradientAccumulationSteps">;

/**
 * HF Trainer's rule, the one both the service (planning, from the dataset's conversation count) and the trainer (from
 * its sequences) use: `maxSteps` wins when > 0, else ceil(epochs × max(1, floor(batches per epoch / accumulation))).
 * A count above MAX_TRAINING_STEPS is the user's mistake (epochs too large for the data), refused naming `epochs`.
 */
export function trainingSteps(hp: StepInputs, examples: number): number {
  if (hp.maxSteps > 0) return hp.maxSteps;
  const batches = Math.ceil(examples / hp.batchSize);
  const perEpoch = Math.max(1, Math.floor(batches / hp.gradientAccumulationSteps));
  const steps = Math.ceil(hp.epochs * perEpoch);
  if (steps > MAX_TRAINING_STEPS) {
    throw fieldError(hyperparameterField("epochs"), `${hp.epochs} over ${perEpoch} optimizer steps per epoch makes ${steps} steps, above the limit of ${MAX_TRAINING_STEPS}: use fewer epochs or set maxSteps`);
  }
  return steps;
}
