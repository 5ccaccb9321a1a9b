/**
 * The export thread: the heavy part of producing a servable model, off the thread that serves requests (an API
 * process working jobs in-process keeps answering). Optionally merges an adapter into the checkpoint first.
 */
import { mergeAdapter } from "../../model/merge.js";
import { jobThread } from "../thread-bridge.js";
import type { ExportOptions, ExportResult } from "../types.js";
import { exportModel } from "./export/export.js";

export interface ExportJob {
  checkpointDir: string;
  outDir: string;
  opts: ExportOptions;
}

await jobThread<ExportJob, ExportResult>(async ({ checkpointDir, outDir, opts }) => {
  const { merge, ...exportOptions } = opts;
  if (merge) await mergeAdapter(checkpointDir, merge.adapterDir, merge.mergedDir);
  return exportModel(merge ? merge.mergedDir : checkpointDir, outDir, exportOptions);
});
