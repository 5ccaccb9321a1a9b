/**
 * The training thread: runs `train()` for the job in `workerData` and posts its events back, so the thread that
 * started it (a server, the CLI) stays responsive. An {type: "abort"} message cancels the run.
 */
import { parentPort, workerData } from "node:worker_threads";
import { isUserError } from "../../model/errors.js";
import type { TrainingJob } from "../types.js";
import { initEngine } from "./engine.js";
import { train } from "./trainer.js";

export type WorkerEvent =
  | { type: "start" | "metric" | "checkpoint"; payload: unknown }
  | { type: "log"; level: "info" | "warn" | "error"; message: string }
  | { type: "done"; payload: unknown }
  | { type: "error"; userError: boolean; code?: string; field?: string; template?: string; message: string; stack?: string };

const port = parentPort!;
const abort = new AbortController();
port.on("message", (m: { type?: string }) => {
  if (m?.type === "abort") abort.abort();
});
const post = (e: WorkerEvent) => port.postMessage(e);

try {
  const info = await initEngine();
  const result = await train(workerData as TrainingJob, {
    onStart: (payload) => post({ type: "start", payload }),
    onMetric: (payload) => post({ type: "metric", payload }),
    onCheckpoint: (payload) => post({ type: "checkpoint", payload }),
    onLog: (level, message) => post({ type: "log", level, message }),
  }, abort.signal, info);
  post({ type: "done", payload: result });
} catch (e) {
  const err = e as Error;
  const user = isUserError(e) ? { code: e.code, field: e.field, template: e.template } : {};
  post({ type: "error", userError: isUserError(e), ...user, message: err.message, stack: err.stack });
} finally {
  port.close();
}
