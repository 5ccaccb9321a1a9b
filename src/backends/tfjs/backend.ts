import { Worker } from "node:worker_threads";
import { UserError } from "../../model/errors.js";
import { validateHyperparameters } from "../training/validate.js";
import type { BackendInfo, CheckpointSaved, TrainingBackend, TrainingEvents, TrainingJob, TrainingMetric, TrainingResult, TrainingStarted } from "../types.js";
import { initEngine } from "./engine.js";
import type { WorkerEvent } from "./worker.js";

/** The compiled worker beside this file; from TypeScript sources (tests, dev) it goes through jiti's loader. */
function spawn(job: TrainingJob): Worker {
  const fromSource = import.meta.url.endsWith(".ts");
  const url = new URL(fromSource ? "./worker.ts" : "./worker.js", import.meta.url);
  return new Worker(url, { workerData: job, execArgv: fromSource ? ["--import", "jiti/register"] : [] });
}

/** QLoRA training on tfjs, in a worker thread per run. */
export class TfjsTrainingBackend implements TrainingBackend {
  readonly name = "tfjs";

  describe(): Promise<BackendInfo> {
    return initEngine();
  }

  async train(job: TrainingJob, events: TrainingEvents, signal: AbortSignal): Promise<TrainingResult> {
    validateHyperparameters(job.hyperparameters as unknown as Record<string, unknown>); // fail here, before a thread starts
    const worker = spawn(job);
    const onAbort = () => worker.postMessage({ type: "abort" });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await new Promise<TrainingResult>((resolve, reject) => {
        let settled = false;
        worker.on("message", (m: WorkerEvent) => {
          switch (m.type) {
            case "start": return events.onStart?.(m.payload as TrainingStarted);
            case "metric": return events.onMetric?.(m.payload as TrainingMetric);
            case "checkpoint": return events.onCheckpoint?.(m.payload as CheckpointSaved);
            case "log": return events.onLog?.(m.level, m.message);
            case "done":
              settled = true;
              return resolve(m.payload as TrainingResult);
            case "error": {
              settled = true;
              if (m.userError) return reject(new UserError(m.message, { code: m.code as UserError["code"], field: m.field, template: m.template }));
              const err = new Error(m.message);
              err.stack = m.stack;
              return reject(err);
            }
          }
        });
        worker.on("error", (e) => {
          settled = true;
          reject(e);
        });
        worker.on("exit", (code) => {
          if (!settled) reject(new Error(`training worker exited with code ${code} before finishing`));
        });
      });
    } finally {
      signal.removeEventListener("abort", onAbort);
      await worker.terminate();
    }
  }
}
