import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { presetConfig } from "../../../src/model/config.js";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { matMul2d } from "../../../src/backends/tfjs/ops.js";
import { PhiModel, type Adapter, type TokenBatch } from "../../../src/backends/tfjs/phi.js";
import { loaderOf, normals, randomWeights } from "./reference.js";

const config = presetConfig("tiny", { vocab_size: 50, hidden_size: 24, intermediate_size: 40, num_hidden_layers: 2, num_attention_heads: 2 });
const batch: TokenBatch = { inputIds: [[1, 7, 30, 2, 44], [0, 0, 9, 13, 21]], attentionMask: [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]] };

beforeAll(async () => {
  await initEngine();
});

describe("gradients through the Phi model to LoRA parameters", () => {
  for (const quant of ["none", "nf4"] as const) {
    it(`match finite differences (${quant} base, whole forward and layer by layer)`, async () => {
      const model = await PhiModel.load(config, loaderOf(randomWeights(config, 5)), { quant });
      const rnd = normals(9);
      const param = (r: number, c: number, s: number) => tf.variable(tf.tensor2d(Float32Array.from({ length: r * c }, () => s * rnd()), [r, c]));
      const A = { q: param(24, 2, 0.3), fc1: param(24, 2, 0.3) };
      const B = { q: param(2, 24, 0.3), fc1: param(2, 40, 0.3) };
      const lora = (a: tf.Variable, b: tf.Variable): Adapter => (x) => matMul2d(matMul2d(x, a as tf.Tensor2D), b as tf.Tensor2D);
      const adapters = new Map([["model.layers.0.self_attn.q_proj", lora(A.q, B.q)], ["model.layers.1.mlp.fc1", lora(A.fc1, B.fc1)]]);
      // zero at padded positions, as a loss masks them: there a fully masked softmax row is constant in value
      // (float32 min swallows the scores) while autodiff still differentiates it, in HF's eager attention too
      const probe = tf.tensor3d(Float32Array.from({ length: 2 * 5 * 50 }, (_, i) => (i >= 250 && i < 350 ? 0 : rnd())), [2, 5, 50]);
      const loss = () => tf.tidy(() => tf.sum(tf.mul(model.forward(batch, { adapters, training: true }), probe)) as tf.Scalar);
      // the trainer's path: context + decoderLayer per layer (what gradient checkpointing wraps) + logits
      const layered = () => {
        const ctx = model.context(batch, { adapters, training: true });
        let x = model.embed(batch);
        for (let i = 0; i < config.num_hidden_layers; i++) x = model.decoderLayer(i, x, ctx);
        return tf.sum(tf.mul(model.logits(x, ctx), probe)) as tf.Scalar;
      };
      const vars = [A.q, B.q, A.fc1, B.fc1];
      const { grads } = tf.variableGrads(loss, vars);
      const layerGrads = tf.variableGrads(layered, vars).grads;
      const eps = 1e-2;
      for (const v of vars) {
        const g = grads[v.name].dataSync();
        expect(Array.from(layerGrads[v.name].dataSync())).toEqual(Array.from(g));
        for (const idx of [0, 5, 17]) {
          const orig = v.dataSync().slice();
          const at = (delta: number) => {
            const data = orig.slice();
            data[idx] += delta;
            v.assign(tf.tensor(data, v.shape));
            const l = loss();
            const val = l.dataSync()[0];
            l.dispose();
            return val;
          };
          const numeric = (at(eps) - at(-eps)) / (2 * eps);
          v.assign(tf.tensor(orig, v.shape));
          expect(Math.abs(g[idx] - numeric)).toBeLessThan(0.02 * Math.max(1, Math.abs(numeric)));
        }
      }
      model.dispose();
    });
  }
});
