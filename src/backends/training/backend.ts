import { runJob, threadFile } from "../thread-bridge.js";
import type { BackendInfo, TrainingBackend, TrainingEvents, TrainingJob, TrainingResult } from "../types.js";
import { chooseEngine } from "./engines.js";
import { validateHyperparameters } from "./validate.js";
import type { TrainingEvent } from "./worker.js";

/** QLoRA training in a worker thread per run, on the engine the job's `engine` hyperparameter picks (./engines.ts). */
export class LoraTrainingBackend implements TrainingBackend {
  readonly name = "lora";

  /** What `engine: auto` runs on here. */
  async describe(): Promise<BackendInfo> {
    return (await chooseEngine("auto")).info;
  }

  async train(job: TrainingJob, events: TrainingEvents, signal: AbortSignal): Promise<TrainingResult> {
    validateHyperparameters(job.hyperparameters as unknown as Record<string, unknown>); // fail here, before a thread starts
    return runJob<TrainingResult, TrainingEvent>(threadFile(import.meta.url, "./worker"), job, {
      name: "training thread",
      signal,
      onEvent: (e) => {
        switch (e.type) {
          case "start": return events.onStart?.(e.payload);
          case "metric": return events.onMetric?.(e.payload);
          case "step": return events.onStep?.(e.payload);
          case "checkpoint": return events.onCheckpoint?.(e.payload);
          case "eval": return events.onEval?.(e.payload);
          case "log": return events.onLog?.(e.level, e.message);
        }
      },
    });
  }
}
