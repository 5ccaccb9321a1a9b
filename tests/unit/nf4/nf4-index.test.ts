import { describe, expect, it } from "vitest";
import { NF4_CODE, nf4Index } from "../../../src/model/nf4.js";

describe("nf4Index", () => {
  it("agrees with a brute-force nearest code (lower code on ties) on a dense sweep and at every midpoint", () => {
    const brute = (x: number) => {
      let best = 0;
      for (let k = 1; k < 16; k++) if (Math.abs(x - NF4_CODE[k]) < Math.abs(x - NF4_CODE[best])) best = k;
      return best;
    };
    const wrong: number[] = [];
    for (let i = 0; i <= 200_000; i++) {
      const x = Math.fround(-1.001 + (2.002 * i) / 200_000);
      if (nf4Index(x) !== brute(x)) wrong.push(x);
    }
    expect(wrong).toEqual([]);
    for (let k = 0; k < 15; k++) {
      const mid = Math.fround((NF4_CODE[k] + NF4_CODE[k + 1]) / 2);
      expect(nf4Index(mid)).toBe(k);
      expect(nf4Index(mid + 1e-6)).toBe(k + 1);
    }
  });
});
