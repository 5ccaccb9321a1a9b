import { describe, expect, it } from "vitest";
import { at, HEADLINES, type Round } from "../../../bench/lib/headlines.js";
import { describeMachine } from "../../../bench/lib/machine.js";
import { fmt, renderMarkdown, type BenchReport } from "../../../bench/lib/markdown.js";
import { summarize } from "../../../bench/lib/stats.js";

const value = (r: Round, measure: string) => HEADLINES.find((h) => h.measure === measure)!.value(r);

function limits(bestGBps: number): Round["limits"] {
  const b = { method: "m", bytes: 1, threads: 2, samplesGBps: [bestGBps], bestGBps, summary: summarize([bestGBps]) };
  const rows = (blockSize: number, eightRowsMs: number) => ({ blockSize, k: 4, n: 4, threads: 2, oneRowMs: 1, eightRowsMs, eightStreamCeiling: 8 / eightRowsMs, eightRowsGops: 1 });
  return {
    bandwidth: b,
    bandwidthOneThread: b,
    peaks: [{ engine: "tfjs-wasm", size: 8, threads: 1, samplesGflops: [20], bestGflops: 20, summary: summarize([20]) }],
    int4Rows: [rows(32, 4), rows(128, 2)],
    int4Bounds: [32, 128].map((blockSize) => ({
      blockSize, threads: 2, layersTimed: 4, numHiddenLayers: 32, prefillRows: 512, weightGBPerToken: 1.6, layerMs: { one: 1, eight: 2, prefill: 50 }, lmHeadMs: { one: 1, eight: 2 },
      decodeBound: blockSize / 2, prefillBound: 40, eightStreamBound: 30, decodeGBps: 20, prefillGops: 150,
    })),
    attention: { past: 576, promptRows: 512, mhaDecodeMs: 0.5, servedDecodeMs: 0.2, mhaPromptMs: 70, gqaPromptMs: 20 },
    servedBounds: [32, 128].map((blockSize) => ({ blockSize, decode: blockSize / 3, prefill: 35 })),
  };
}

describe("headline figures", () => {
  it("reads dotted paths, numbers only", () => {
    expect(at({ a: { b: 2 } }, "a.b")).toBe(2);
    expect(at({ a: { b: "2" } }, "a.b")).toBeUndefined();
    expect(at(undefined, "a")).toBeUndefined();
  });

  it("forms each ratio from the figures of one round", () => {
    const round: Round = {
      limits: limits(20),
      areas: { generate: { ours: { decodeTokensPerSecond: 8, weightGBPerToken: 1.6, weightGBPerSecond: 12.8, endToEndTokensPerSecond: 6 }, transformersJs: { tokensPerSecond: 3 } } },
      generateFp32: { ours: { decodeTokensPerSecond: 2 } },
    };
    expect(value(round, "achieved / measured read bandwidth")).toBeCloseTo(0.64);
    expect(value(round, "bandwidth ceiling (bandwidth / GB per token)")).toBeCloseTo(12.5);
    expect(value(round, "tunegraph / transformers.js")).toBe(2);
    expect(value(round, "int4 / fp32 decode")).toBe(4);
    expect(value(round, "matMul peak, tfjs (training engine)")).toBe(20);
    expect(value(round, "int4 matMul (block 32), 8 rows: ceiling of 8 streams / 1 (8·t1/t8)")).toBe(2);
    expect(value(round, "int4 matMul (block 128), 8 rows: ceiling of 8 streams / 1")).toBe(4);
  });

  it("sets tunegraph and the int4 kernel's bounds against llama.cpp of the same round", () => {
    const round: Round = {
      limits: limits(20),
      areas: { generate: { llamaCpp: { decodeTokensPerSecond: 8, prefillTokensPerSecond: 80, aggregateTokensPerSecond: 20, weightGBPerSecond: 15 }, vsLlamaCpp: { decode: 0.7, prefill: 0.45, aggregate: 0.6 } } },
    };
    expect(value(round, "tunegraph / llama.cpp decode (target >= 1)")).toBe(0.7);
    expect(value(round, "tunegraph / llama.cpp aggregate (target >= 1)")).toBe(0.6);
    expect(value(round, "llama.cpp: achieved / measured read bandwidth")).toBe(0.75);
    expect(value(round, "phi-2's linears on int4 MatMulNBits alone (block 128): bound, decode / llama.cpp decode")).toBe(8);
    expect(value(round, "phi-2's linears on int4 MatMulNBits alone (block 32): bound, prefill / llama.cpp prefill")).toBe(0.5);
    expect(value(round, "phi-2's linears on int4 MatMulNBits alone (block 32): bound, 8 streams / llama.cpp aggregate")).toBe(1.5);
  });

  it("reads per-engine rows from the engine listed first (the one the project picks)", () => {
    const steps = [
      { engine: "wasm", model: "mid (512 x 8)", quant: "none", secondsPerStep: 2, weightBytes: 400 },
      { engine: "wasm", model: "mid (512 x 8)", quant: "nf4", secondsPerStep: 3, weightBytes: 53 },
      { engine: "cpu", model: "mid (512 x 8)", quant: "none", secondsPerStep: 50, weightBytes: 400 },
    ];
    const round: Round = { areas: { train: { results: { steps } }, forward: { results: { forward: [{ engine: "wasm", model: "tiny", quant: "nf4", tokensPerSecond: 7 }] } } } };
    expect(value(round, "NF4 / full-precision base, step time (mid-size)")).toBe(1.5);
    expect(value(round, "NF4 / full-precision base, weight bytes (mid-size)")).toBeCloseTo(0.1325);
    expect(value(round, "forward, tiny preset, NF4 base")).toBe(7);
    expect(value(round, "forward, tiny preset, full precision (first engine)")).toBeUndefined();
  });

  it("leaves a figure out when its round lacks a side of the ratio", () => {
    const round: Round = { areas: { generate: { ours: { weightGBPerSecond: 12.8 } } } };
    expect(value(round, "achieved / measured read bandwidth")).toBeUndefined();
    expect(value(round, "int4 / fp32 decode")).toBeUndefined();
  });
});

describe("RESULTS.md", () => {
  it("puts the machine beside the figures, with median, spread and what did not run", () => {
    const machine = describeMachine();
    const report: BenchReport = {
      date: "2026-11-30T12:00:00.000Z",
      mode: "full",
      only: ["decode", "memory"],
      rounds: 3,
      machine,
      ran: ["generate"],
      notRun: [{ script: "bench/api.ts", reason: "not written yet" }],
      failures: [],
      headlines: [
        { section: "decode", measure: "int4 decode, 1 stream", unit: "tok/s", summary: summarize([8.5, 9.5, 10.5]) },
        { section: "decode", measure: "fp32 decode, 1 stream", unit: "tok/s" },
      ],
      figures: { generate: { "ours.decodeTokensPerSecond": summarize([8, 9, 10]) } },
    };
    const md = renderMarkdown(report);
    expect(md).toContain(machine.cpuModel);
    expect(md).toContain(`${machine.cores} cores`);
    expect(md).toContain("Produced by `npm run bench -- --only decode,memory` on 2026-11-30T12:00:00.000Z: 3 round(s)");
    expect(md).toContain("| decode | int4 decode, 1 stream | tok/s | 9.50 | 8.50 – 10.5 (21 %) | 3 |");
    expect(md).toContain("| decode | fp32 decode, 1 stream | tok/s | not measured |  |  |");
    expect(md).toContain("bench/api.ts (not written yet)");
    expect(md).toContain("| `ours.decodeTokensPerSecond` | 9 | 8 – 10 (22 %) | 3 |");
  });

  it("formats to about three significant digits", () => {
    expect(fmt(1234.6)).toBe("1235");
    expect(fmt(268435456)).toBe("268435456");
    expect(fmt(12.34)).toBe("12.3");
    expect(fmt(1.234)).toBe("1.23");
    expect(fmt(0.01234)).toBe("0.0123");
    expect(fmt(0)).toBe("0");
  });
});
