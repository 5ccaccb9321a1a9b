import { describe, expect, it } from "vitest";
import { learningRateAt, lrLambda, warmupStepsFor } from "../../../src/backends/training/schedule.js";

const base = { learningRate: 2e-4, warmupSteps: 0, warmupRatio: 0 };

describe("learning-rate schedules (HF get_*_schedule_with_warmup)", () => {
  it("constant: warmup ramp then flat", () => {
    const o = { ...base, scheduler: "constant" as const, warmupSteps: 4 };
    const want = [0, 5e-5, 1e-4, 1.5e-4, 2e-4, 2e-4, 2e-4];
    [0, 1, 2, 3, 4, 50, 99].forEach((s, i) => expect(learningRateAt(o, s, 100)).toBeCloseTo(want[i], 15));
    expect(learningRateAt({ ...o, warmupSteps: 0 }, 0, 100)).toBe(2e-4);
  });

  it("linear: decays to 0 at the last step", () => {
    // values from transformers' lr_lambda: (total - step) / (total - warmup) after warmup
    expect(lrLambda("linear", 0, 10, 110)).toBe(0);
    expect(lrLambda("linear", 5, 10, 110)).toBe(0.5);
    expect(lrLambda("linear", 10, 10, 110)).toBe(1);
    expect(lrLambda("linear", 60, 10, 110)).toBe(0.5);
    expect(lrLambda("linear", 110, 10, 110)).toBe(0);
    expect(lrLambda("linear", 120, 10, 110)).toBe(0);
  });

  it("cosine: half a cosine after warmup", () => {
    expect(lrLambda("cosine", 10, 10, 110)).toBeCloseTo(1, 12);
    expect(lrLambda("cosine", 60, 10, 110)).toBeCloseTo(0.5, 12);
    expect(lrLambda("cosine", 35, 10, 110)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI * 0.25)), 12);
    expect(lrLambda("cosine", 110, 10, 110)).toBeCloseTo(0, 12);
    expect(lrLambda("cosine", 3, 10, 110)).toBeCloseTo(0.3, 12);
  });

  it("warmup ratio is ceil(total * ratio); explicit steps win", () => {
    expect(warmupStepsFor({ ...base, scheduler: "linear", warmupRatio: 0.03 }, 5000)).toBe(150);
    expect(warmupStepsFor({ ...base, scheduler: "linear", warmupRatio: 0.1 }, 15)).toBe(2);
    expect(warmupStepsFor({ ...base, scheduler: "linear", warmupRatio: 0.1, warmupSteps: 7 }, 15)).toBe(7);
  });
});
