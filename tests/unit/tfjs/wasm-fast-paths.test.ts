import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { LoraLayer } from "../../../src/backends/tfjs/lora.js";
import { batchMatMul, BLOCK_BYTES, denseWeight, linear } from "../../../src/backends/tfjs/ops.js";
import { relativeError } from "../../helpers/phi-reference.js";
import { normals } from "./reference.js";

const randn = (shape: number[], seed: number) => {
  const rnd = normals(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd());
};

beforeAll(async () => {
  await initEngine();
});

describe("the wasm engine's replaced kernels and products", () => {
  it("Slice, SplitV and Identity give tfjs' cpu results", async () => {
    const backend = tf.getBackend();
    const cases: [number[], number[], number[]][] = [
      [[4, 5, 6, 7], [1, 0, 2, 3], [2, 5, 3, 4]], [[4, 5, 6, 7], [0, 0, 0, 0], [4, 5, 6, 3]], [[8, 3], [2, 1], [3, 2]],
      [[10], [3], [4]], [[3, 4, 5], [0, 1, 0], [3, 2, 5]], [[2, 3, 4, 5, 6], [1, 1, 1, 1, 1], [1, 2, 3, 4, 5]], [[4, 4], [0, 0], [0, 4]],
    ];
    const run = (shape: number[], begin: number[], size: number[], dtype: "float32" | "int32") => {
      const x = tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i), shape, dtype);
      return {
        slice: Array.from(tf.slice(x, begin, size).dataSync()),
        split: tf.split(x, [1, shape[0] - 1], 0).map((t) => Array.from(t.dataSync())),
        clone: Array.from(tf.clone(x).dataSync()),
      };
    };
    for (const [shape, begin, size] of cases) {
      for (const dtype of ["float32", "int32"] as const) {
        await tf.setBackend("cpu");
        const want = run(shape, begin, size, dtype);
        await tf.setBackend(backend);
        expect(run(shape, begin, size, dtype)).toEqual(want);
      }
    }
    // a clone shares the data but stays valid after the original is disposed
    const x = tf.tensor1d([1, 2, 3]);
    const c = tf.clone(x);
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
  });

  it("batchMatMul gives the value and both gradients of autodiff's batched matMul", () => {
    const a = tf.tensor3d(randn([3, 5, 4], 1), [3, 5, 4]), b = tf.tensor3d(randn([3, 4, 6], 2), [3, 4, 6]);
    const probe = tf.tensor3d(randn([3, 5, 6], 3), [3, 5, 6]);
    const loss = (mm: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor3D) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x as tf.Tensor3D, y as tf.Tensor3D), probe));
    expect(relativeError(batchMatMul(a, b).dataSync(), tf.matMul(a, b).dataSync())).toBeLessThan(1e-6);
    const ours = tf.grads(loss(batchMatMul))([a, b]), ref = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
    for (let i = 0; i < 2; i++) expect(relativeError(ours[i].dataSync(), ref[i].dataSync())).toBeLessThan(1e-6);
  });

  it("a weight held in blocks (lm_head-sized) computes x·Wᵀ + b and its input gradient", () => {
    const [n, inF] = [5, 64];
    const outF = Math.ceil((3 * BLOCK_BYTES) / (4 * inF)) + 7; // three blocks and a short one
    const w = randn([outF, inF], 4), bias = randn([outF], 5);
    const weight = denseWeight(w, outF, inF, bias);
    expect(weight.blocks!.length).toBeGreaterThan(2);
    const x = tf.tensor2d(randn([n, inF], 6), [n, inF]);
    const probe = tf.tensor2d(randn([n, outF], 7), [n, outF]);
    const W = tf.tensor2d(w, [outF, inF]);
    const ref = (t: tf.Tensor) => tf.add(tf.matMul(t as tf.Tensor2D, tf.transpose(W)), tf.tensor1d(bias));
    expect(relativeError(linear(x, weight).dataSync(), ref(x).dataSync())).toBeLessThan(1e-6);
    const gOurs = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(linear(t as tf.Tensor2D, weight), probe)))(x);
    const gRef = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ref(t), probe)))(x);
    expect(relativeError(gOurs.dataSync(), gRef.dataSync())).toBeLessThan(1e-5);
    expect(relativeError(tf.tidy(() => weight.transposed()).dataSync(), tf.transpose(W).dataSync())).toBe(0);
    weight.dispose();
  });
});

describe("hand-written gradients of the training step", () => {
  it("LoRA dropout: the redrawn mask gives autodiff's gradients of tf.dropout", () => {
    const [n, inF, outF, r] = [6, 16, 12, 4];
    const layer = new LoraLayer("model.layers.0.self_attn.q_proj", inF, outF, r, 2, 0.3, randn([r, inF], 8), randn([outF, r], 9));
    const x = tf.tensor2d(randn([n, inF], 10), [n, inF]);
    const probe = tf.tensor2d(randn([n, outF], 11), [n, outF]);
    const seed = 1234;
    const ref = (t: tf.Tensor2D) => tf.mul(tf.matMul(tf.matMul(tf.dropout(t, 0.3, undefined, seed) as tf.Tensor2D, layer.at), layer.bt), 2);
    const loss = (f: (t: tf.Tensor2D) => tf.Tensor) => () => tf.sum(tf.mul(f(x), probe)) as tf.Scalar;
    const ours = tf.variableGrads(loss((t) => layer.apply(t, seed))), want = tf.variableGrads(loss(ref));
    expect(ours.value.dataSync()[0]).toBeCloseTo(want.value.dataSync()[0], 4);
    for (const v of [layer.at, layer.bt]) expect(relativeError(ours.grads[v.name].dataSync(), want.grads[v.name].dataSync())).toBeLessThan(1e-5);
    const gx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t as tf.Tensor2D, seed), probe)))(x);
    const gxRef = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ref(t as tf.Tensor2D), probe)))(x);
    expect(relativeError(gx.dataSync(), gxRef.dataSync())).toBeLessThan(1e-5);
    expect(tf.norm(gx).dataSync()[0]).toBeGreaterThan(0);
    layer.dispose();
  });
});

describe("tfjs' threaded wasm build under Node", () => {
  const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "threaded-product.ts");
  const run = (threads: number, inWorker: boolean) => {
    const r = spawnSync(process.execPath, ["--import", "jiti/register", fixture, ...(inWorker ? ["--in-worker"] : [])], {
      env: { ...process.env, TUNEGRAPH_TFJS_THREADS: String(threads) }, encoding: "utf8", timeout: 60_000,
    });
    // a pthread worker that kept the process alive would run into the timeout (status null)
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { threads: number; values: number[] };
  };

  it("computes what the single-threaded build computes, also in a worker thread, and lets the process exit", () => {
    const one = run(1, false);
    expect(one.threads).toBe(1);
    for (const inWorker of [false, true]) {
      const two = run(2, inWorker);
      expect(two.threads).toBe(2);
      expect(relativeError(Float32Array.from(two.values), Float32Array.from(one.values))).toBeLessThan(1e-5);
    }
  });
});
