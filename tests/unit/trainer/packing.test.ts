import { describe, expect, it } from "vitest";
import { onnxStepEngine } from "../../../src/backends/onnx/train/step-engine.js";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { tfjsStepEngine } from "../../../src/backends/tfjs/step-engine.js";
import { shiftLabels } from "../../../src/backends/training/labels.js";
import { initialLora } from "../../../src/backends/training/lora.js";
import type { MicroStepResult, StepEngine } from "../../../src/backends/training/step-engine.js";
import { DEFAULT_HYPERPARAMETERS, type TrainingHyperparameters } from "../../../src/backends/types.js";
import { collate, type Batch } from "../../../src/data/batcher.js";
import type { TokenizedExample } from "../../../src/data/encode.js";
import { prepareSequences } from "../../../src/data/sequences.js";
import type { Example } from "../../../src/data/types.js";
import { Rng } from "../../../src/model/random.js";
import { fixtureCheckpoint } from "../../integration/trainer/fixtures.js";

const EOS = 50256;
const examples: Example[] = [
  { kind: "tokens", inputIds: [5, 17, 3, 90, 44], labels: [5, 17, 3, 90, 44] },
  { kind: "tokens", inputIds: [1, 2, 3, 4], labels: [-100, -100, 3, 4] },
  { kind: "tokens", inputIds: [7, 8, 9, 10, 11, 12, 13, 14, 15], labels: [7, 8, 9, 10, 11, 12, 13, 14, 15] },
];
// blocks of 12: [first (6 with EOS), second (5), the third's first token] and [the rest of the third (9)], padded
const blocks = prepareSequences(examples, { encode: () => [], eosTokenId: EOS }, { maxSeqLength: 12, completionOnly: false, packing: true }).sequences;
const packed = collate(blocks, EOS);

/** Each packed sequence as a row of its own. */
const pieces: TokenizedExample[] = blocks.flatMap((b) => {
  const out: TokenizedExample[] = [];
  b.segmentIds!.forEach((s, t) => {
    if (!out[s]) out[s] = { inputIds: [], labels: [], attentionMask: [] };
    out[s].inputIds.push(b.inputIds[t]);
    out[s].labels.push(b.labels[t]);
    out[s].attentionMask!.push(b.attentionMask![t]);
  });
  return out;
});

/** Loss and gradients summed over the batch's counted positions (weight = their count). */
async function summed(step: StepEngine, batch: Batch): Promise<MicroStepResult> {
  return step.microStep(batch, shiftLabels(batch.labels, batch.batchSize, batch.seqLen).count, null);
}

/** ‖a − b‖ / ‖b‖ */
function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0, n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}

const model = fixtureCheckpoint();

const hp: TrainingHyperparameters = { ...DEFAULT_HYPERPARAMETERS, quant: "none", loraDropout: 0, targetModules: ["q_proj", "v_proj", "dense", "fc1"] };
const engines: Record<string, () => Promise<StepEngine>> = {
  tfjs: async () => tfjsStepEngine(await initEngine()).load(model.ckpt.config, (n) => model.ckpt.read(n), hp, lora()),
  onnx: async () => onnxStepEngine("cpu").load(model.ckpt.config, (n) => model.ckpt.read(n), hp, lora()),
};
function lora() {
  const weights = initialLora(model.ckpt.config, hp, 5);
  const rng = new Rng(9);
  for (const w of weights) w.B = Float32Array.from(w.B, () => rng.normal() * 0.3); // nonzero B: A gets gradients too
  return weights;
}

describe("packing without cross-talk", () => {
  it("packs three sequences and a cut one's rest into two rows", () => {
    expect(packed.batchSize).toBe(2);
    expect(pieces.map((p) => p.inputIds.length)).toEqual([6, 5, 1, 9]);
  });

  for (const [name, load] of Object.entries(engines)) {
    it(`${name}: a packed batch's loss and gradients are the sums of its sequences' alone`, async () => {
      const step = await load();
      try {
        const whole = await summed(step, packed);
        const alone: MicroStepResult[] = [];
        for (const p of pieces) alone.push(await summed(step, collate([p], EOS)));
        const loss = alone.reduce((s, r) => s + r.loss, 0);
        expect(Math.abs(whole.loss - loss) / loss).toBeLessThan(1e-5);
        const grads = whole.grads.map((_, k) => {
          const g = new Float32Array(whole.grads[k].length);
          for (const r of alone) r.grads[k].forEach((x, i) => (g[i] += x));
          return g;
        });
        expect(Math.max(...whole.grads.map((g, k) => relErr(g, grads[k])))).toBeLessThan(1e-5);
        // the same rows without their segment ids attend across sequences: the check above would see it
        const { segmentIds: _, ...crossTalk } = packed;
        expect(Math.abs((await summed(step, crossTalk)).loss - loss) / loss).toBeGreaterThan(1e-4);
      } finally {
        step.dispose();
      }
    });
  }
});
