import { describe, expect, it } from "vitest";
import { AdamW } from "../../../src/backends/training/optim/adamw.js";

const opts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };

describe("AdamW (torch.optim.AdamW)", () => {
  it("first step: decay then lr * g / (|g| + eps) after bias correction", () => {
    const p = new Float32Array([1, -2, 0.5, 0]);
    const g = new Float32Array([0.1, -0.3, 0, 2]);
    const opt = new AdamW([4], opts);
    opt.step([p], [g], 0.01);
    const want = [1, -2, 0.5, 0].map((p0, i) => {
      const gi = [0.1, -0.3, 0, 2][i];
      return p0 * (1 - 0.01 * 0.1) - (0.01 * gi) / (Math.abs(gi) + 1e-8);
    });
    want.forEach((w, i) => expect(p[i]).toBeCloseTo(w, 6));
    expect(opt.stepCount).toBe(1);
  });

  it("second step follows the formula with both moments and bias corrections", () => {
    const p = new Float32Array([0.3]);
    const opt = new AdamW([1], opts);
    const lr = [0.01, 0.02];
    const gs = [0.5, -0.2];
    let pp = 0.3, m = 0, v = 0;
    gs.forEach((g, k) => {
      opt.step([p], [new Float32Array([g])], lr[k]);
      const t = k + 1;
      pp *= 1 - lr[k] * opts.weightDecay;
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      pp -= (lr[k] / (1 - 0.9 ** t)) * m / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** t) + 1e-8);
    });
    expect(p[0]).toBeCloseTo(pp, 6);
  });

  it("state round trip gives the same next step", () => {
    const a = new AdamW([3], opts);
    const pa = new Float32Array([1, 2, 3]);
    a.step([pa], [new Float32Array([0.1, 0.2, -0.3])], 0.1);
    const saved = new Map(a.state().map((t) => [t.name, t.data.slice()]));
    const b = new AdamW([3], opts);
    b.restore(a.stepCount, saved);
    const pb = pa.slice();
    const g = new Float32Array([0.5, -0.1, 0.2]);
    a.step([pa], [g], 0.1);
    b.step([pb], [g], 0.1);
    expect(Array.from(pb)).toEqual(Array.from(pa));
    expect(() => b.restore(1, new Map())).toThrow(/0.exp_avg: expected F32 of 3 values, found none/);
  });
});
