import { describe, expect, it } from "vitest";
import { Rng } from "../../../src/model/random.js";
import { UserError } from "../../../src/model/errors.js";

describe("Rng", () => {
  it("is xoshiro128** (reference outputs from state 1, 2, 3, 4)", () => {
    const r = Rng.fromState({ algorithm: "xoshiro128**", s: [1, 2, 3, 4], spare: null });
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([11520, 0, 5927040]);
  });

  it("is deterministic per (seed, key) and differs across them", () => {
    const draw = (r: Rng) => Array.from({ length: 5 }, () => r.next());
    expect(draw(new Rng(42))).toEqual(draw(new Rng(42)));
    expect(draw(new Rng(42))).not.toEqual(draw(new Rng(43)));
    expect(draw(new Rng(42, "a"))).not.toEqual(draw(new Rng(42, "b")));
    expect(draw(new Rng(2 ** 40))).not.toEqual(draw(new Rng(0)));
  });

  it("next() stays in [0, 1) and looks uniform", () => {
    const r = new Rng(7);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
    }
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01);
  });

  it("normal() has mean 0 and std 1; fillNormal gives the same values", () => {
    const a = new Rng(3);
    const n = 40000;
    const xs = Array.from({ length: n }, () => a.normal());
    const mean = xs.reduce((s, x) => s + x, 0) / n;
    const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 1)).toBeLessThan(0.02);
    const b = new Rng(3);
    b.normal(); // leaves a spare: fillNormal must use it first
    const filled = b.fillNormal(new Float32Array(7), 2, 1);
    expect([...filled]).toEqual(xs.slice(1, 8).map((x) => Math.fround(1 + 2 * x)));
    expect(b.normal()).toBe(xs[8]);
    const c = new Rng(3);
    expect([...c.fillNormal(new Float32Array(3))]).toEqual(xs.slice(0, 3).map(Math.fround)); // odd length leaves a spare
    expect(c.normal()).toBe(xs[3]);
  });

  it("int(n) is in range and hits every value; shuffle permutes", () => {
    const r = new Rng(5);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const k = r.int(7);
      expect(Number.isInteger(k) && k >= 0 && k < 7).toBe(true);
      seen.add(k);
    }
    expect(seen.size).toBe(7);
    const arr = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = r.shuffle([...arr]);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(arr);
    expect(shuffled).not.toEqual(arr);
    expect(() => r.int(0)).toThrow(RangeError);
  });

  it("resumes from a JSON round trip of its state", () => {
    const r = new Rng(11, "resume");
    r.normal(); // a pending spare is part of the state
    const saved = JSON.parse(JSON.stringify(r.state()));
    const expected = [r.normal(), r.next(), r.int(1000)];
    const back = Rng.fromState(saved);
    expect([back.normal(), back.next(), back.int(1000)]).toEqual(expected);
  });

  it("rejects a malformed state", () => {
    expect(() => Rng.fromState({ algorithm: "xoshiro128**", s: [0, 0, 0, 0], spare: null })).toThrow(UserError);
    expect(() => Rng.fromState({ s: [1, 2, 3] })).toThrow(/invalid random-generator state/);
  });
});
