import { runJob, threadFile } from "../thread-bridge.js";
import { validateHyperparameters } from "../training/validate.js";
import type { BackendInfo, TrainingBackend, TrainingEvents, TrainingJob, TrainingResult } from "../types.js";
import { initEngine } from "./engine.js";
import type { TrainingEvent } from "./worker.js";

/** QLoRA training on tfjs, in a worker thread per run. */
export class TfjsTrainingBackend implements TrainingBackend {
  readonly name = "tfjs";

  describe(): Promise<BackendInfo> {
    return initEngine();
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
          case "checkpoint": return events.onCheckpoint?.(e.payload);
          case "log": return events.onLog?.(e.level, e.message);
        }
      },
    });
  }
}
