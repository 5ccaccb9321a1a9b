import * as tf from "@tensorflow/tfjs";
import seedrandom from "seedrandom";
import { describe, expect, it } from "vitest";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { dropoutMultipliers } from "../../../src/backends/training/dropout.js";

describe("dropout masks shared by the engines", () => {
  it("are tf.dropout's masks for the same seed and rate, element for element", async () => {
    await initEngine();
    for (const [rate, seed] of [[0.1, 12345], [0.3, 4294967295], [0.05, 7]] as const) {
      const ours = dropoutMultipliers(60 * 70, rate, seed);
      const theirs = tf.tidy(() => tf.dropout(tf.ones([60, 70]), rate, undefined, seed).dataSync() as Float32Array);
      expect(Array.from(ours)).toEqual(Array.from(theirs));
      const dropped = ours.filter((m) => m === 0).length / ours.length;
      expect(Math.abs(dropped - rate)).toBeLessThan(0.03);
    }
  });

  it("follow seedrandom's alea draw for draw over a long mask (the recurrence runs inline)", () => {
    const rate = 0.1, seed = 2 ** 31 + 17, n = 200_000;
    const random = seedrandom.alea(String(seed));
    const keep = Math.fround(1 - rate);
    const expected = Float32Array.from({ length: n }, () => (Math.fround(Math.fround(random()) + keep) >= 1 ? Math.fround(1 / keep) : 0));
    expect(dropoutMultipliers(n, rate, seed)).toEqual(expected);
  });
});
