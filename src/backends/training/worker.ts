/**
 * The training thread: runs `train()` for the job it is given and posts its events back, so the thread that started
 * it (a server, the CLI) stays responsive. runJob's signal cancels the run.
 */
import { jobThread } from "../thread-bridge.js";
import type { CheckpointSaved, EvalMetric, TrainingJob, TrainingMetric, TrainingResult, TrainingStarted, TrainingStep } from "../types.js";
import { chooseEngine } from "./engines.js";
import { train } from "./trainer.js";
import { validateHyperparameters } from "./validate.js";

export type TrainingEvent =
  | { type: "start"; payload: TrainingStarted }
  | { type: "metric"; payload: TrainingMetric }
  | { type: "step"; payload: TrainingStep }
  | { type: "checkpoint"; payload: CheckpointSaved }
  | { type: "eval"; payload: EvalMetric }
  | { type: "log"; level: "info" | "warn" | "error"; message: string };

await jobThread<TrainingJob, TrainingResult, TrainingEvent>(async (job, emit, signal) => {
  const engine = await chooseEngine(validateHyperparameters(job.hyperparameters as unknown as Record<string, unknown>).engine);
  return train(job, {
    onStart: (payload) => emit({ type: "start", payload }),
    onMetric: (payload) => emit({ type: "metric", payload }),
    onStep: (payload) => emit({ type: "step", payload }),
    onCheckpoint: (payload) => emit({ type: "checkpoint", payload }),
    onEval: (payload) => emit({ type: "eval", payload }),
    onLog: (level, message) => emit({ type: "log", level, message }),
  }, signal, engine);
});
