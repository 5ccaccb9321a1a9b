import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { maskedCrossEntropy } from "../../../src/backends/tfjs/loss.js";
import { shiftLabels } from "../../../src/backends/training/labels.js";

describe("causal-LM loss", () => {
  it("shifts labels by one and ignores -100 and the last position", () => {
    const labels = Int32Array.from([5, 6, -100, 7, 1, 2, 3, -100]);
    const { targets, count } = shiftLabels(labels, 2, 4);
    expect(Array.from(targets)).toEqual([6, -100, 7, -100, 2, 3, -100, -100]);
    expect(count).toBe(4);
  });

  it("is the mean cross-entropy over counted positions, with the softmax − one-hot gradient", () => {
    const x = [[1, 2, 0.5], [0.1, -1, 3], [2, 2, 2]];
    const targets = Int32Array.from([1, -100, 0]);
    const logits = tf.tensor2d(x);
    const { value, grads } = tf.valueAndGrads((l: tf.Tensor) => maskedCrossEntropy(l as tf.Tensor2D, targets, 0.5))([logits]);
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const want = 0.5 * (lse(x[0]) - x[0][1]) + 0.5 * (lse(x[2]) - x[2][0]);
    expect(value.dataSync()[0]).toBeCloseTo(want, 5);
    const g = grads[0].arraySync() as number[][];
    const sm = (r: number[]) => r.map((v) => Math.exp(v - lse(r)));
    sm(x[0]).forEach((p, j) => expect(g[0][j]).toBeCloseTo(0.5 * (p - (j === 1 ? 1 : 0)), 5));
    g[1].forEach((v) => expect(Math.abs(v)).toBe(0));
    sm(x[2]).forEach((p, j) => expect(g[2][j]).toBeCloseTo(0.5 * (p - (j === 0 ? 1 : 0)), 5));
    tf.dispose([logits, value, ...grads]);
  });
});
