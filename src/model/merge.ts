import { access } from "node:fs/promises";
import path from "node:path";
import { Checkpoint, writeCheckpoint, type WrittenCheckpoint } from "./checkpoint.js";
import type { FloatDtype } from "./dtype.js";
import { fieldError, UserError } from "./errors.js";
import { assertEmptyDir } from "./out-dir.js";
import { readAdapter, type LoraWeights } from "./peft.js";

export interface MergeOptions {
  /** dtype of the merged weights; default: the base checkpoint's. */
  dtype?: FloatDtype;
  maxShardBytes?: number;
  /** Called after each tensor is written (for progress). */
  onTensor?: (name: string, index: number, total: number) => void;
}

export interface MergeResult extends WrittenCheckpoint {
  outDir: string;
  dtype: FloatDtype;
  mergedModules: number;
}

/** W ← W + scale · B · A in float32, in place. W [out, in], A [r, in], B [out, r]. */
export function mergeLoraInto(w: Float32Array, lora: LoraWeights, scale: number): Float32Array {
  const { A, B, inFeatures: n, outFeatures: m } = lora;
  const r = A.length / n;
  if (w.length !== m * n) throw new Error(`mergeLoraInto: ${lora.module}: weight has ${w.length} values, LoRA expects [${m}, ${n}]`);
  const row = new Float32Array(n);
  for (let o = 0; o < m; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const b = B[o * r + k];
      if (b === 0) continue;
      const a = A.subarray(k * n, (k + 1) * n);
      for (let i = 0; i < n; i++) row[i] += b * a[i];
    }
    const base = o * n;
    for (let i = 0; i < n; i++) w[base + i] += scale * row[i];
  }
  return w;
}

/**
 * Merge a LoRA adapter into the full-precision base and write a complete HF checkpoint directory (config,
 * generation config, tokenizer files, shards and index). Tensor by tensor: one weight is in memory at a time.
 */
export async function mergeAdapter(modelDir: string, adapterDir: string, outDir: string, opts: MergeOptions = {}): Promise<MergeResult> {
  if (path.resolve(outDir) === path.resolve(modelDir)) throw fieldError("outDir", `${outDir} is the base model directory: choose another one`, "CONFLICT");
  await assertEmptyDir(outDir);

  const base = await Checkpoint.open(modelDir);
  try {
    const adapter = await readAdapter(adapterDir, base.config);
    const byWeight = new Map(adapter.weights.map((w) => [`${w.module}.weight`, w]));
    const dtype = opts.dtype ?? base.dtype;
    const names = base.names();
    let done = 0;
    const hasTokenizer = await access(path.join(modelDir, "tokenizer.json")).then(() => true, () => false);
    const written = await writeCheckpoint(outDir, base.config, async (name) => {
      const w = await base.read(name);
      const lora = byWeight.get(name);
      if (lora) mergeLoraInto(w, lora, adapter.scale);
      opts.onTensor?.(name, ++done, names.length);
      return w;
    }, { dtype, maxShardBytes: opts.maxShardBytes, tokenizerFrom: hasTokenizer ? modelDir : undefined });
    return { ...written, outDir, dtype, mergedModules: byWeight.size };
  } finally {
    await base.close();
  }
}
