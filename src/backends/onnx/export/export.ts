import { copyFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { Checkpoint } from "../../../model/checkpoint.js";
import { fieldError, UserError } from "../../../model/errors.js";
import { assertEmptyDir } from "../../../model/out-dir.js";
import { copyTokenizerFiles, writeBuiltinTokenizer } from "../../../model/tokenizer.js";
import type { ExportOptions, ExportResult, Precision } from "../../types.js";
import { MODEL_FILE, writeOnnxModel, type OnnxWriteOptions } from "./onnx-file.js";
import { INT4_BLOCK_SIZES } from "./phi-graph.js";
import { LINEAR_MODULES, isLinearModule } from "../../../model/phi-layout.js";

export const PRECISIONS: readonly Precision[] = ["fp32", "int4"];

/** `precision`, plus: externalData (default above 1.5 GiB), fused (default true), kvCache (default float32), blockSize (int4, default 32). */
export type ExportModelOptions = ExportOptions & Omit<OnnxWriteOptions, "precision">;

/**
 * An HF Phi checkpoint directory → a directory transformers.js and optimum load: onnx/model.onnx
 * (+ onnx/model.onnx_data), config.json, generation_config.json and the tokenizer files.
 */
export async function exportModel(checkpointDir: string, outDir: string, opts: ExportModelOptions): Promise<ExportResult> {
  if (!PRECISIONS.includes(opts.precision)) throw new UserError(`unsupported precision "${String(opts.precision)}": expected one of ${PRECISIONS.join(", ")}`);
  if (opts.blockSize !== undefined && !INT4_BLOCK_SIZES.includes(opts.blockSize)) {
    throw new UserError(`int4 block size ${opts.blockSize}: expected one of ${INT4_BLOCK_SIZES.join(", ")}`);
  }
  if (opts.lora) {
    const bad = opts.lora.targets.filter((t) => !isLinearModule(t));
    if (bad.length > 0 || opts.lora.targets.length === 0) throw fieldError("loraTargets", `must name one or more of ${LINEAR_MODULES.join(", ")}, got ${JSON.stringify(opts.lora.targets)}`);
    if (!Number.isInteger(opts.lora.maxRank) || opts.lora.maxRank < 1 || opts.lora.maxRank > 4096) throw fieldError("loraMaxRank", `must be an integer in [1, 4096], got ${opts.lora.maxRank}`);
  }
  if (path.resolve(outDir) === path.resolve(checkpointDir)) throw fieldError("outDir", `${outDir} is the checkpoint directory: choose another one`, "CONFLICT");
  await assertEmptyDir(outDir);

  const ckpt = await Checkpoint.open(checkpointDir);
  try {
    const written = await writeOnnxModel(ckpt, path.join(outDir, "onnx"), opts);
    // transformers.js picks onnx/model.onnx for dtype "fp32" (the file name, whatever the weights inside)
    const jsConfig: Record<string, unknown> = { dtype: "fp32" };
    if (written.externalData) jsConfig.use_external_data_format = { [MODEL_FILE]: 1 };
    const config = { ...ckpt.config, torch_dtype: "float32", "transformers.js_config": jsConfig };
    await writeFile(path.join(outDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
    const generation = path.join(checkpointDir, "generation_config.json");
    if (existsSync(generation)) await copyFile(generation, path.join(outDir, "generation_config.json"));
    else await writeFile(path.join(outDir, "generation_config.json"), JSON.stringify({ bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id }, null, 2) + "\n");
    if (existsSync(path.join(checkpointDir, "tokenizer.json"))) await copyTokenizerFiles(checkpointDir, outDir);
    else await writeBuiltinTokenizer(outDir);
    return { outDir, modelPath: written.modelPath, sizeBytes: written.sizeBytes, precision: opts.precision };
  } finally {
    await ckpt.close();
  }
}
