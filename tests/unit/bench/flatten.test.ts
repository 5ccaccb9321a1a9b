import { describe, expect, it } from "vitest";
import { flatten, summarizeRuns } from "../../../bench/lib/flatten.js";
import { summarize } from "../../../bench/lib/stats.js";

describe("flatten", () => {
  it("names every finite number by its path, array rows by their string fields", () => {
    const json = {
      mode: "quick",
      ours: { decodeTokensPerSecond: 12.5, samples: [12, 13], nested: { ok: true, bad: Number.NaN } },
      forward: [
        { engine: "wasm", model: "tiny", tokensPerSecond: 100 },
        { engine: "wasm", model: "tiny", tokensPerSecond: 90 },
        { tokensPerSecond: 3 },
      ],
    };
    expect(flatten(json)).toEqual({
      "ours.decodeTokensPerSecond": 12.5,
      "forward[wasm/tiny].tokensPerSecond": 100,
      "forward[1].tokensPerSecond": 90,
      "forward[2].tokensPerSecond": 3,
    });
  });
});

describe("summaries over rounds", () => {
  it("gives the median, min, max and relative spread", () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, spread: 1, n: 3 });
    expect(summarize([4, 1, 2, 3]).median).toBe(2.5);
    expect(summarize([5]).spread).toBe(0);
    expect(() => summarize([])).toThrow();
  });

  it("summarizes each figure over the rounds that produced it", () => {
    const s = summarizeRuns([{ a: 1, b: 10 }, { a: 3 }, { a: 2, b: 30 }]);
    expect(s.a).toEqual({ median: 2, min: 1, max: 3, spread: 1, n: 3 });
    expect(s.b).toEqual({ median: 20, min: 10, max: 30, spread: 1, n: 2 });
  });
});
