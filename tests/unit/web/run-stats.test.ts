import { describe, expect, it } from "vitest";
import { emaSmooth, etaSeconds, fmtCount, fmtDuration, secondsPerStep, trainedTokens } from "../../../web/src/run-stats.js";

const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();

describe("run page numbers", () => {
  it("smooths like W&B: debiased EMA, weight 0 is the raw series, nulls stay null", () => {
    expect(emaSmooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = emaSmooth([4, null, 2], 0.5);
    expect(s[0]).toBeCloseTo(4); // debiased: the first point is itself, not pulled to 0
    expect(s[1]).toBeNull();
    // (0.5·(0.5·4) + 0.5·2) / (1 − 0.25) = 2 / 0.75
    expect(s[2]).toBeCloseTo(2 / 0.75);
    const flat = emaSmooth(Array(50).fill(3), 0.99);
    expect(flat.every((v) => Math.abs(v! - 3) < 1e-9)).toBe(true);
  });

  it("estimates pace, ETA and trained tokens from the logged windows", () => {
    const points = [
      { step: 10, tokensPerSecond: 100, at: at(20) },
      { step: 20, tokensPerSecond: 200, at: at(40) },
      { step: 30, tokensPerSecond: 100, at: at(60) },
    ];
    expect(secondsPerStep(points)).toBeCloseTo(2);
    expect(secondsPerStep(points.slice(0, 1))).toBeNull();
    expect(etaSeconds(points, 30, 100)).toBeCloseTo(140);
    expect(etaSeconds(points, 100, 100)).toBeNull();
    // first window at the mean pace (2 s/step × 10 steps), then 20 s windows
    expect(trainedTokens(points)).toBeCloseTo(100 * 20 + 200 * 20 + 100 * 20);
    expect(trainedTokens([])).toBeNull();
  });

  it("formats durations and counts", () => {
    expect(fmtDuration(75)).toBe("1m 15s");
    expect(fmtDuration(3725)).toBe("1h 2m");
    expect(fmtDuration(null)).toBe("–");
    expect(fmtCount(1_234_567)).toBe("1.23M");
    expect(fmtCount(999)).toBe("999");
  });
});
