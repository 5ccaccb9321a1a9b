/**
 * The heavy part of producing a servable model, on its own thread so that an API process working jobs in-process
 * keeps answering: optionally merge an adapter into the base (an HF checkpoint in `hfDir`), then export to ONNX.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createBackends } from "../backends/registry.js";
import type { Precision } from "../backends/types.js";
import { isUserError } from "../model/errors.js";
import { mergeAdapter } from "../model/merge.js";

export interface ExportJob {
  /** the base model's HF checkpoint */
  baseDir: string;
  /** merge this adapter into the base first, writing the merged checkpoint to `hfDir` */
  merge?: { adapterDir: string; hfDir: string };
  /** receives the export (onnx/model.onnx, config, tokenizer) */
  modelDir: string;
  precision: Precision;
}

export type ExportThreadResult =
  | { ok: true; sizeBytes: number }
  | { ok: false; message: string; userError: boolean; code?: string; stack?: string };

const job = workerData as ExportJob;
let result: ExportThreadResult;
try {
  if (job.merge) await mergeAdapter(job.baseDir, job.merge.adapterDir, job.merge.hfDir);
  const source = job.merge ? job.merge.hfDir : job.baseDir;
  const exported = await (await createBackends().inference()).export(source, job.modelDir, { precision: job.precision });
  result = { ok: true, sizeBytes: exported.sizeBytes };
} catch (err) {
  result = isUserError(err)
    ? { ok: false, message: err.message, userError: true, code: err.code }
    : { ok: false, message: (err as Error)?.message ?? String(err), userError: false, stack: (err as Error)?.stack };
}
parentPort!.postMessage(result);
