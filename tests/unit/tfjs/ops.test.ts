import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { nf4Weight } from "../../../src/backends/tfjs/nf4-linear.js";
import { denseWeight, linear, matMul2d } from "../../../src/backends/tfjs/ops.js";
import { dequantizeNf4, quantizeNf4 } from "../../../src/model/nf4.js";
import { relativeError } from "../../helpers/phi-reference.js";
import { normals } from "./reference.js";

const randn = (shape: number[], seed: number) => {
  const rnd = normals(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd());
};

beforeAll(async () => {
  await initEngine();
});

describe("ops with explicit-transpose gradients", () => {
  it("matMul2d gives the value and both gradients of autodiff's matMul", () => {
    const a = tf.tensor2d(randn([5, 7], 1), [5, 7]), b = tf.tensor2d(randn([7, 3], 2), [7, 3]);
    const probe = tf.tensor2d(randn([5, 3], 3), [5, 3]);
    const loss = (mm: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor2D) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x as tf.Tensor2D, y as tf.Tensor2D), probe));
    const ours = tf.grads(loss(matMul2d))([a, b]);
    const ref = tf.grads(loss((x, y) => tf.matMul(x, y)))([a, b]);
    expect(relativeError(matMul2d(a, b).dataSync(), tf.matMul(a, b).dataSync())).toBeLessThan(1e-6);
    for (let i = 0; i < 2; i++) {
      expect(ours[i].shape).toEqual(ref[i].shape);
      expect(relativeError(ours[i].dataSync(), ref[i].dataSync())).toBeLessThan(1e-6);
    }
  });

  it("linear computes x·Wᵀ + b with W stored [out, in] and passes the gradient to x (dense and NF4)", () => {
    const [n, inF, outF] = [4, 64, 6];
    const w = randn([outF, inF], 4), bias = randn([outF], 5);
    const x = tf.tensor2d(randn([n, inF], 6), [n, inF]);
    const probe = tf.tensor2d(randn([n, outF], 7), [n, outF]);
    const nf4Dense = dequantizeNf4(quantizeNf4(w, [outF, inF]));
    for (const [weight, data] of [[denseWeight(w, outF, inF, bias), w], [nf4Weight(w, outF, inF, bias), nf4Dense]] as const) {
      const W = tf.tensor2d(data, [outF, inF]);
      const ref = (t: tf.Tensor) => tf.add(tf.matMul(t as tf.Tensor2D, W, false, true), tf.tensor1d(bias));
      expect(relativeError(linear(x, weight).dataSync(), ref(x).dataSync())).toBeLessThan(1e-6);
      const gOurs = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(linear(t as tf.Tensor2D, weight), probe)))(x);
      const gRef = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ref(t), probe)))(x);
      expect(relativeError(gOurs.dataSync(), gRef.dataSync())).toBeLessThan(1e-6);
    }
  });

  it("lets LoRA gradients flow through a frozen linear chain", () => {
    const [n, h] = [3, 8];
    const base = denseWeight(randn([h, h], 8), h, h, new Float32Array(h));
    const A = tf.variable(tf.tensor2d(randn([h, 2], 9), [h, 2])), B = tf.variable(tf.tensor2d(randn([2, h], 10), [2, h]));
    const x = tf.tensor2d(randn([n, h], 11), [n, h]);
    const { grads } = tf.variableGrads(() => {
      const y = tf.add(linear(x, base), matMul2d(matMul2d(x, A), B)) as tf.Tensor2D;
      return tf.sum(tf.square(linear(y, base))) as tf.Scalar;
    });
    const ref = tf.variableGrads(() => {
      const W = tf.transpose(base.transposed());
      const y = tf.add(tf.matMul(x, W, false, true), tf.matMul(tf.matMul(x, A), B));
      return tf.sum(tf.square(tf.matMul(y, W, false, true))) as tf.Scalar;
    }).grads;
    for (const v of [A, B]) {
      expect(relativeError(grads[v.name].dataSync(), ref[v.name].dataSync())).toBeLessThan(1e-5);
      expect(tf.norm(grads[v.name]).dataSync()[0]).toBeGreaterThan(0);
    }
  });
});
