import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoraLayer } from "../../../src/backends/tfjs/lora.js";
import { kaimingUniformA } from "../../../src/backends/training/lora.js";
import { modulePath } from "../../../src/model/phi-layout.js";
import { microStep } from "../../../src/backends/tfjs/step.js";
import type { PhiModel } from "../../../src/backends/tfjs/phi.js";
import { collate } from "../../../src/data/batcher.js";
import { Rng } from "../../../src/model/random.js";
import { tinyConfig, tinyModel } from "./tiny.js";

const config = tinyConfig();
let model: PhiModel;
let lora: LoraLayer[];

beforeAll(async () => {
  model = await tinyModel(config);
  const rng = new Rng(7);
  lora = [];
  for (let l = 0; l < 2; l++) {
    for (const t of ["q_proj", "v_proj", "fc1"] as const) {
      const out = t === "fc1" ? 48 : 32;
      const b = Float32Array.from({ length: out * 4 }, () => rng.normal() * 0.5); // nonzero B so A gets gradients
      lora.push(new LoraLayer(modulePath(l, t), 32, out, 4, 2, 0, kaimingUniformA(4, 32, rng), b));
    }
  }
});

afterAll(() => {
  lora.forEach((l) => l.dispose());
  model.dispose();
});

const batch = collate([
  { inputIds: [5, 17, 3, 90, 44, 2, 8], labels: [5, 17, 3, 90, 44, 2, 8] },
  { inputIds: [1, 2, 3, 4], labels: [-100, -100, 3, 4] },
], 0);

function lossAt(): number {
  return microStep(model, lora, batch, 1, null, false).loss;
}

describe("LoRA gradients", () => {
  it("match central finite differences on every LoRA tensor", () => {
    const { grads } = microStep(model, lora, batch, 1, null, false);
    const vars = lora.flatMap((l) => [l.at, l.bt]);
    const eps = 1e-2;
    let checked = 0;
    vars.forEach((v, k) => {
      const g = grads[k];
      // the three largest components of each tensor
      const idx = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 3);
      for (const i of idx) {
        const base = v.dataSync().slice() as Float32Array;
        const at = (d: number) => {
          const p = base.slice();
          p[i] += d;
          v.assign(tf.tensor(p, v.shape));
          return lossAt();
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        v.assign(tf.tensor(base, v.shape));
        expect(Math.abs(fd - g[i])).toBeLessThan(0.03 * Math.abs(g[i]) + 2e-4);
        checked++;
      }
    });
    expect(checked).toBe(36);
  });

  it("gradient checkpointing gives the same loss and gradients, dropout included", () => {
    const seeds = lora.map((_, i) => 1000 + i);
    const withDropout = lora.map((l) => Object.assign(Object.create(Object.getPrototypeOf(l)), l, { dropout: 0.3 }) as LoraLayer);
    const plain = microStep(model, withDropout, batch, 1, seeds, false);
    const ckpt = microStep(model, withDropout, batch, 1, seeds, true);
    expect(ckpt.loss).toBeCloseTo(plain.loss, 5);
    plain.grads.forEach((g, k) => g.forEach((x, i) => expect(ckpt.grads[k][i]).toBeCloseTo(x, 5)));
    const noDropout = microStep(model, lora, batch, 1, null, false);
    expect(Math.abs(noDropout.loss - plain.loss)).toBeGreaterThan(1e-4);
  });
});
