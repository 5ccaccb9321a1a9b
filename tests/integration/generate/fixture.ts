import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { exportModel } from "../../../src/backends/onnx/export/export.js";
import type { KvCacheType } from "../../../src/backends/onnx/export/phi-graph.js";
import type { Precision } from "../../../src/backends/types.js";
import { presetConfig } from "../../../src/model/config.js";
import { initModel } from "../../../src/model/init.js";

/** A tiny random Phi (the `tiny` preset, real vocabulary) exported to ONNX in a temp dir. */
export async function tinyExportedModel(precision: Precision = "fp32", overrides: Record<string, unknown> = {}, kvCache: KvCacheType = "float32", externalData = false): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  const ckpt = path.join(root, "checkpoint");
  const dir = path.join(root, "exported");
  await initModel({ config: presetConfig("tiny", overrides), out: ckpt, seed: 7, dtype: "F32" });
  await exportModel(ckpt, dir, { precision, kvCache, externalData });
  return { dir, cleanup: () => rm(root, { recursive: true, force: true }) };
}
