import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onnxStepEngine } from "../../../src/backends/onnx/train/step-engine.js";
import { initialLora, loraParams } from "../../../src/backends/training/lora.js";
import type { StepEngine } from "../../../src/backends/training/step-engine.js";
import { DEFAULT_HYPERPARAMETERS, type TrainingHyperparameters } from "../../../src/backends/types.js";
import { collate } from "../../../src/data/batcher.js";
import { Checkpoint } from "../../../src/model/checkpoint.js";
import { Rng } from "../../../src/model/random.js";
import { fixture } from "../../integration/trainer/fixtures.js";

let f: Awaited<ReturnType<typeof fixture>>;
let ckpt: Checkpoint;
let step: StepEngine;
let params: Float32Array[];

// without gradient checkpointing: the backward graphs that take the forward's saved activations (the recomputing ones
// give the same gradients: micro-step.test.ts)
const hp: TrainingHyperparameters = {
  ...DEFAULT_HYPERPARAMETERS, quant: "none", loraDropout: 0, r: 4, targetModules: ["q_proj", "v_proj", "dense", "fc1", "fc2"], gradientCheckpointing: false,
};
const batch = collate([
  { inputIds: [5, 17, 3, 90, 44, 2, 8], labels: [5, 17, 3, 90, 44, 2, 8] },
  { inputIds: [1, 2, 3, 4], labels: [-100, -100, 3, 4] },
], 0);

beforeAll(async () => {
  f = await fixture();
  ckpt = await Checkpoint.open(f.modelDir);
  const lora = initialLora(ckpt.config, hp, 3);
  const rng = new Rng(7);
  for (const w of lora) w.B = Float32Array.from(w.B, () => rng.normal() * 0.5); // nonzero B so A gets gradients
  params = loraParams(lora, hp.r);
  step = await onnxStepEngine("cpu").load(ckpt.config, (name) => ckpt.read(name), hp, lora);
});
afterAll(async () => {
  step.dispose();
  await ckpt.close();
  await f.done();
});

describe("onnx step: LoRA gradients", () => {
  it("match central finite differences on every LoRA tensor", async () => {
    const { grads } = await step.microStep(batch, 1, null);
    const eps = 1e-2;
    let checked = 0;
    for (let k = 0; k < params.length; k++) {
      const g = grads[k];
      // the three largest components of each tensor
      const idx = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 3);
      for (const i of idx) {
        const at = async (d: number) => {
          const p = params.map((x) => x.slice());
          p[k][i] += d;
          step.setParams(p);
          return (await step.microStep(batch, 1, null)).loss;
        };
        const fd = ((await at(eps)) - (await at(-eps))) / (2 * eps);
        expect(Math.abs(fd - g[i])).toBeLessThan(0.03 * Math.abs(g[i]) + 2e-4);
        checked++;
      }
    }
    step.setParams(params);
    expect(checked).toBe(2 * 5 * 2 * 3);
  });

  it("weight scales the loss and the gradients", async () => {
    const one = await step.microStep(batch, 1, null);
    const half = await step.microStep(batch, 0.5, null);
    expect(half.loss).toBeCloseTo(one.loss / 2, 6);
    half.grads[1].forEach((x, i) => expect(x).toBeCloseTo(one.grads[1][i] / 2, 6));
  });
});
