import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { Checkpoint } from "../../../src/model/checkpoint.js";
import { presetConfig, type PhiConfig } from "../../../src/model/config.js";
import { initModel } from "../../../src/model/init.js";
import { DEFAULT_DATA_OPTIONS, DEFAULT_HYPERPARAMETERS, type TrainingHyperparameters, type TrainingJob } from "../../../src/backends/types.js";

export const TINY: PhiConfig = presetConfig("tiny", {
  hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 128, initializer_range: 0.2,
});

const CONVERSATIONS = [
  ["What is the capital of France?", "Paris is the capital of France."],
  ["Name a primary colour.", "Red is a primary colour."],
  ["How many legs does a spider have?", "A spider has eight legs."],
  ["What do bees make?", "Bees make honey and wax."],
];

/** A temp dir with a tiny random Phi (`model/`) and guanaco rows (`data.jsonl`); `done()` removes it. */
export async function fixture(): Promise<{ root: string; modelDir: string; dataPath: string; done: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  const modelDir = path.join(root, "model");
  await initModel({ config: TINY, out: modelDir, seed: 3, dtype: "F32" });
  const dataPath = path.join(root, "data.jsonl");
  await writeFile(dataPath, CONVERSATIONS.map(([q, a]) => JSON.stringify({ text: `### Human: ${q}### Assistant: ${a}` })).join("\n") + "\n");
  return { root, modelDir, dataPath, done: () => rm(root, { recursive: true, force: true }) };
}

export function job(f: { modelDir: string; dataPath: string }, outDir: string, hp: Partial<TrainingHyperparameters>, extra: Partial<TrainingJob> = {}): TrainingJob {
  return {
    modelDir: f.modelDir,
    dataPath: f.dataPath,
    outDir,
    hyperparameters: { ...DEFAULT_HYPERPARAMETERS, batchSize: 2, maxSeqLength: 64, loggingSteps: 1, saveSteps: 1000, maxSteps: 4, ...hp },
    data: DEFAULT_DATA_OPTIONS,
    ...extra,
  };
}

/** A test file's fixture model, open as a checkpoint before its tests and closed (and removed) after them. */
export function fixtureCheckpoint(): { ckpt: Checkpoint } {
  const open = {} as { ckpt: Checkpoint };
  let f: Awaited<ReturnType<typeof fixture>>;
  beforeAll(async () => {
    f = await fixture();
    open.ckpt = await Checkpoint.open(f.modelDir);
  });
  afterAll(async () => {
    await open.ckpt?.close();
    await f?.done();
  });
  return open;
}
