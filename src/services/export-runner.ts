import { Worker } from "node:worker_threads";
import { UserError } from "../model/errors.js";
import type { ExportJob, ExportThreadResult } from "./export-thread.js";

/** Run export-thread.ts (compiled beside this file; from TypeScript sources through jiti's loader). */
export function exportInThread(job: ExportJob): Promise<{ sizeBytes: number }> {
  const fromSource = import.meta.url.endsWith(".ts");
  const url = new URL(fromSource ? "./export-thread.ts" : "./export-thread.js", import.meta.url);
  const worker = new Worker(url, { workerData: job, execArgv: fromSource ? ["--import", "jiti/register"] : [] });
  return new Promise<{ sizeBytes: number }>((resolve, reject) => {
    worker.once("message", (r: ExportThreadResult) => {
      if (r.ok) return resolve({ sizeBytes: r.sizeBytes });
      if (r.userError) return reject(new UserError(r.message, r.code as UserError["code"]));
      reject(Object.assign(new Error(r.message), { stack: r.stack }));
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`export thread exited with code ${code} before finishing`)));
  }).finally(() => void worker.terminate());
}
