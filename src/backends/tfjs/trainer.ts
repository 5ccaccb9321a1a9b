import { train as trainLoop } from "../training/trainer.js";
import type { BackendInfo, TrainingEvents, TrainingJob, TrainingResult } from "../types.js";
import { tfjsStepEngine } from "./step-engine.js";

/** The shared trainer (../training/trainer.ts) with tfjs micro-steps on the engine `info` names. */
export function train(job: TrainingJob, events: TrainingEvents, signal: AbortSignal, info: BackendInfo): Promise<TrainingResult> {
  return trainLoop(job, events, signal, tfjsStepEngine(info));
}
