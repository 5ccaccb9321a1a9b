import { describe, expect, it } from "vitest";
import { needsLimits, parseOptions, scriptsFor, selectedAreas } from "../../../bench/lib/options.js";
import { UserError } from "../../../src/model/errors.js";

describe("bench options", () => {
  it("runs every area, three rounds, by default; one round in quick mode", () => {
    const full = parseOptions([]);
    expect(full).toEqual({ quick: false, only: [], rounds: 3, timeoutMinutes: 240, help: false });
    expect(selectedAreas(full)).toEqual(["decode", "prefill", "concurrency", "train", "memory", "api", "forward"]);
    expect(parseOptions(["--quick"]).rounds).toBe(1);
    expect(parseOptions(["--quick", "--rounds", "2"]).rounds).toBe(2);
    expect(parseOptions(["--quick"]).timeoutMinutes).toBe(15);
    expect(parseOptions(["--timeout", "0.5"]).timeoutMinutes).toBe(0.5);
  });

  it("takes --only as a comma list or repeated, without duplicates", () => {
    expect(parseOptions(["--only", "decode,train", "--only", "decode"]).only).toEqual(["decode", "train"]);
  });

  it("maps areas to the scripts that measure them, each once and in order", () => {
    expect(scriptsFor(["decode", "prefill", "concurrency"])).toEqual(["generate"]);
    expect(scriptsFor(["memory"])).toEqual(["forward", "generate"]);
    expect(scriptsFor(["api", "train"])).toEqual(["train", "api"]);
    expect(needsLimits(["prefill", "api"])).toBe(false);
    expect(needsLimits(["decode"])).toBe(true);
  });

  it("rejects a mistake with one message naming it", () => {
    expect(() => parseOptions(["--only", "decod"])).toThrow(UserError);
    expect(() => parseOptions(["--only", "decod"])).toThrow(/unknown area "decod"/);
    expect(() => parseOptions(["--only"])).toThrow(/--only needs a list/);
    expect(() => parseOptions(["--rounds", "0"])).toThrow(/--rounds must be a positive integer, got "0"/);
    expect(() => parseOptions(["--timeout", "soon"])).toThrow(/--timeout must be a positive number of minutes, got "soon"/);
    expect(() => parseOptions(["--fast"])).toThrow(/unknown option "--fast"/);
  });
});
