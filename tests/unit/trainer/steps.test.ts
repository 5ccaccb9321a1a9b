import { describe, expect, it } from "vitest";
import { clipGradients } from "../../../src/backends/training/trainer.js";
import { trainingSteps } from "../../../src/backends/training/steps.js";
import { UserError } from "../../../src/model/errors.js";
import { DEFAULT_HYPERPARAMETERS } from "../../../src/backends/types.js";

describe("step count and clipping", () => {
  it("maxSteps wins; else ceil(epochs × floor(batches / accumulation)), at least one step per epoch", () => {
    const hp = { ...DEFAULT_HYPERPARAMETERS };
    // examples = 4 per batch (the default batchSize) × the batches
    expect(trainingSteps({ ...hp, maxSteps: 7 }, 400)).toBe(7);
    expect(trainingSteps({ ...hp, maxSteps: 0, epochs: 3 }, 40)).toBe(30);
    expect(trainingSteps({ ...hp, maxSteps: 0, epochs: 3 }, 37)).toBe(30); // a last, short batch counts
    expect(trainingSteps({ ...hp, maxSteps: 0, epochs: 1.5, gradientAccumulationSteps: 4 }, 40)).toBe(3);
    expect(trainingSteps({ ...hp, maxSteps: 0, epochs: 2, gradientAccumulationSteps: 8 }, 12)).toBe(2);
  });

  it("refuses a step count above the limit, naming epochs", () => {
    const hp = { ...DEFAULT_HYPERPARAMETERS, maxSteps: 0, epochs: 1e6 };
    let err: unknown;
    try {
      trainingSteps(hp, 4 * 5000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).field).toBe("hyperparameters.epochs");
    expect((err as UserError).message).toMatch(/^epochs 1000000 over 5000 optimizer steps per epoch makes 5000000000 steps, above the limit of 1000000000/);
  });

  it("global-norm clipping as torch: norm reported before, scaled by max/(norm + 1e-6)", () => {
    const g = [new Float32Array([3, 0]), new Float32Array([4])];
    expect(clipGradients(g, 1)).toBeCloseTo(5, 6);
    const k = 1 / (5 + 1e-6);
    expect(Array.from(g[0])).toEqual([Math.fround(3 * k), 0]);
    expect(g[1][0]).toBeCloseTo(4 * k, 6);
    const small = [new Float32Array([0.1, 0.2])];
    expect(clipGradients(small, 1)).toBeCloseTo(Math.sqrt(0.05), 6);
    expect(Array.from(small[0])).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    const off = [new Float32Array([30, 40])];
    expect(clipGradients(off, 0)).toBe(50);
    expect(Array.from(off[0])).toEqual([30, 40]);
  });
});
