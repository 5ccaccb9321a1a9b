import { describe, expect, it } from "vitest";
import { measureReadBandwidth } from "../../../bench/lib/bandwidth.js";
import { measureInt4Bounds } from "../../../bench/lib/int4-bounds.js";
import { packageVersion, describeMachine, machineLine } from "../../../bench/lib/machine.js";
import { ortMatMulPeak, tfjsMatMulPeak } from "../../../bench/lib/peak.js";
import { presetConfig } from "../../../src/model/config.js";

// small sizes: these check that the probes run and report consistently, not how fast this machine is
describe("machine limits probes", () => {
  it("measures read bandwidth with ORT: one sample per repetition, the best of them", async () => {
    const r = await measureReadBandwidth({ bytes: 2 ** 24, threads: 1, repetitions: 3 });
    expect(r.bytes).toBe(2 ** 24);
    expect(r.samplesGBps).toHaveLength(3);
    expect(r.samplesGBps.every((x) => Number.isFinite(x) && x > 0)).toBe(true);
    expect(r.bestGBps).toBe(Math.max(...r.samplesGBps));
    expect(r.method).toMatch(/ReduceSum.*1 intra-op thread/);
  });

  it("measures the matMul peak of ORT and of tfjs' engine", async () => {
    const ort = await ortMatMulPeak({ size: 128, threads: 1, repetitions: 2 });
    expect(ort.engine).toBe("onnxruntime-cpu");
    expect(ort.samplesGflops).toHaveLength(2);
    expect(ort.bestGflops).toBeGreaterThan(0);
    const tfjs = await tfjsMatMulPeak({ size: 128, repetitions: 2 });
    expect(tfjs.engine).toMatch(/^tfjs-(wasm|cpu|tensorflow)/);
    expect(tfjs.bestGflops).toBe(Math.max(...tfjs.samplesGflops));
  });

  it("bounds decode, prefill and 8 streams by the int4 linears alone, from per-layer times", async () => {
    const config = presetConfig("tiny", { vocab_size: 1024 }); // 2 layers: hidden 64, intermediate 256
    const r = await measureInt4Bounds({ config, blockSize: 32, layers: 2, prefillRows: 16, repetitions: 2, threads: 1 });
    // six linears of 64·64 (×4), 64·256, 256·64 per layer, and lm_head 64·1024: 4 bits and an fp32 scale per 32 weights
    expect(r.weightGBPerToken * 1e9).toBeCloseTo((2 * (4 * 64 * 64 + 2 * 64 * 256) + 64 * 1024) * (0.5 + 4 / 32), 3);
    expect(r.decodeBound).toBeCloseTo(1000 / (2 * r.layerMs.one + r.lmHeadMs.one), 6);
    expect(r.prefillBound).toBeCloseTo(16_000 / (2 * r.layerMs.prefill + r.lmHeadMs.one), 6);
    expect(r.eightStreamBound).toBeCloseTo(8000 / (2 * r.layerMs.eight + r.lmHeadMs.eight), 6);
    expect(Object.values(r.layerMs).every((ms) => ms > 0)).toBe(true);
  });

  it("describes the machine with the engines' versions", () => {
    const m = describeMachine();
    expect(m.cores).toBeGreaterThan(0);
    expect(m.versions["onnxruntime-node"]).toBe(packageVersion("onnxruntime-node"));
    expect(packageVersion("@huggingface/transformers")).toMatch(/^\d+\.\d+\.\d+/);
    expect(packageVersion("no-such-package-tunegraph")).toBeUndefined();
    expect(machineLine(m)).toContain(`${m.cores} cores`);
  });
});
