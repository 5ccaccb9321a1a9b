import { cliFieldName } from "../../../src/cli/fields.js";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { checkWasmHeap, estimateTrainingHeap, type HeapJob } from "../../../src/backends/tfjs/heap-budget.js";
import { createLora } from "../../../src/backends/tfjs/lora.js";
import { PhiModel } from "../../../src/backends/tfjs/phi.js";
import { microStep } from "../../../src/backends/tfjs/step.js";
import { DEFAULT_HYPERPARAMETERS } from "../../../src/backends/types.js";
import { expectedTensors } from "../../../src/model/checkpoint.js";
import { presetConfig, type PhiConfig } from "../../../src/model/config.js";
import { UserError } from "../../../src/model/errors.js";
import { initialTensor } from "../../../src/model/init.js";

const phi2 = presetConfig("phi-2");
const reference = { ...DEFAULT_HYPERPARAMETERS }; // batch 4, max 512 tokens, nf4, q_proj/v_proj rank 8

/** The wasm module's heap size: it only grows, so after a step it is at least that step's peak. */
function wasmHeapBytes(): number {
  const m = (tf.backend() as unknown as { wasm: { wasmMemory?: WebAssembly.Memory; HEAPU8: Uint8Array } }).wasm;
  return (m.wasmMemory?.buffer ?? m.HEAPU8.buffer).byteLength;
}

function smallConfig(h: number, layers: number, vocab: number): PhiConfig {
  return presetConfig("tiny", {
    hidden_size: h, intermediate_size: 4 * h, num_hidden_layers: layers, vocab_size: vocab, num_attention_heads: 4, max_position_embeddings: 512,
  });
}

/** Load a random model, run one real step of `job`, free everything; returns the heap size afterwards. */
async function measure(config: PhiConfig, job: HeapJob): Promise<number> {
  const shapes = new Map(expectedTensors(config).map((t) => [t.name, t.shape]));
  const model = await PhiModel.load(config, async (name) => initialTensor(config, name, shapes.get(name)!, 1), { quant: job.quant });
  const lora = createLora(config, { r: job.r, loraAlpha: 16, loraDropout: 0.1, useRslora: false, targetModules: job.targetModules }, 1);
  const { batchSize: B, seqLen: T } = job;
  const ids = new Int32Array(B * T).map((_, i) => (i * 7) % config.vocab_size);
  const batch = { inputIds: ids, attentionMask: new Int32Array(B * T).fill(1), labels: ids, batchSize: B, seqLen: T, tokens: B * T };
  try {
    microStep(model, lora, batch, 1, lora.map(() => 3), job.gradientCheckpointing);
    return wasmHeapBytes();
  } finally {
    lora.forEach((l) => l.dispose());
    model.dispose();
  }
}

describe("wasm heap budget", () => {
  it("bounds the heap that real steps grow to (nf4 and none, with and without checkpointing)", async () => {
    const info = await initEngine();
    if (info.engine !== "wasm") return;
    const qv = ["q_proj", "v_proj"] as const;
    const cases: { config: PhiConfig; job: HeapJob }[] = [
      { config: smallConfig(64, 2, 4096), job: { batchSize: 2, seqLen: 64, quant: "nf4", gradientCheckpointing: true, r: 8, targetModules: [...qv] } },
      { config: smallConfig(128, 2, 4096), job: { batchSize: 2, seqLen: 128, quant: "none", gradientCheckpointing: false, r: 8, targetModules: ["q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"] } },
      { config: smallConfig(256, 4, 4096), job: { batchSize: 2, seqLen: 256, quant: "nf4", gradientCheckpointing: true, r: 8, targetModules: [...qv] } },
      { config: smallConfig(256, 2, 8192), job: { batchSize: 4, seqLen: 128, quant: "none", gradientCheckpointing: false, r: 8, targetModules: [...qv] } },
      { config: smallConfig(256, 4, 4096), job: { batchSize: 2, seqLen: 256, quant: "nf4", gradientCheckpointing: false, r: 8, targetModules: [...qv] } },
    ];
    // in rising order of estimate, so a heap grown by an earlier case is also within each later bound
    const estimates = cases.map((c) => estimateTrainingHeap(c.config, c.job).total);
    expect([...estimates].sort((a, b) => a - b)).toEqual(estimates);
    const start = wasmHeapBytes();
    const heaps: number[] = [];
    for (const c of cases) heaps.push(await measure(c.config, c.job));
    heaps.forEach((heap, i) => expect(heap, `case ${i}`).toBeLessThanOrEqual(estimates[i]));
    // the steps did grow the heap, and the largest estimate is conservative but not wildly so
    expect(heaps.at(-1)!).toBeGreaterThan(start + 100 * 2 ** 20);
    expect(estimates.at(-1)!).toBeLessThan(2 * heaps.at(-1)!);
  });

  it("refuses phi-2 at batch 4 × 512 without checkpointing, naming batch size and sequence length", () => {
    const hp = { ...reference, gradientCheckpointing: false };
    expect(() => checkWasmHeap(phi2, hp, 512, 0)).toThrow(UserError);
    // the API names the spec's fields; the CLI renders them as its flags
    expect(() => checkWasmHeap(phi2, hp, 512, 0)).toThrow(/^batch 4 × 512 tokens needs about \d+\.\d GiB of tfjs wasm heap \(limit 4\.0 GiB\): use gradientCheckpointing, a smaller batchSize or maxSeqLength, or install @tensorflow\/tfjs-node$/);
    let err: UserError | undefined;
    try {
      checkWasmHeap(phi2, hp, 512, 0);
    } catch (e) {
      err = e as UserError;
    }
    expect(err!.field).toBe("hyperparameters.batchSize");
    expect(err!.render(cliFieldName)).toMatch(/: use --gradient-checkpointing, a smaller --batch-size or --max-seq-len, or install @tensorflow\/tfjs-node$/);
  });

  it("the reference phi-2 job with checkpointing: 4 × 512 does not fit; 1 × 512 does", () => {
    const ckpt = { ...reference, gradientCheckpointing: true };
    const full = estimateTrainingHeap(phi2, { ...ckpt, seqLen: 512 });
    expect(full.total).toBeLessThan(estimateTrainingHeap(phi2, { ...ckpt, gradientCheckpointing: false, seqLen: 512 }).total / 5);
    expect(() => checkWasmHeap(phi2, ckpt, 512, 0)).toThrow(/^batch 4 × 512 tokens needs about 7\.9 GiB .*: use a smaller batchSize/);
    expect(checkWasmHeap(phi2, { ...ckpt, batchSize: 1 }, 512, 0).total).toBeLessThan(3 * 2 ** 30);
    // what the heap already holds counts against the limit
    expect(() => checkWasmHeap(phi2, { ...ckpt, batchSize: 1 }, 512, 2 ** 30)).toThrow(/1\.0 GiB already in use/);
  });

  it("shorter batches than maxSeqLength need less: the estimate follows the longest sequence", () => {
    const job: HeapJob = { ...reference, gradientCheckpointing: true, seqLen: 512 };
    const short = estimateTrainingHeap(phi2, { ...job, seqLen: 128 });
    expect(short.total).toBeLessThan(estimateTrainingHeap(phi2, job).total);
    expect(short.weights).toBe(estimateTrainingHeap(phi2, job).weights);
    expect(() => checkWasmHeap(phi2, { ...reference, gradientCheckpointing: true }, 128, 0)).not.toThrow();
  });
});
