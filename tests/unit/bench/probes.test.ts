import { describe, expect, it } from "vitest";
import { measureReadBandwidth } from "../../../bench/lib/bandwidth.js";
import { packageVersion, describeMachine, machineLine } from "../../../bench/lib/machine.js";
import { ortMatMulPeak, tfjsMatMulPeak } from "../../../bench/lib/peak.js";

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

  it("describes the machine with the engines' versions", () => {
    const m = describeMachine();
    expect(m.cores).toBeGreaterThan(0);
    expect(m.versions["onnxruntime-node"]).toBe(packageVersion("onnxruntime-node"));
    expect(packageVersion("@huggingface/transformers")).toMatch(/^\d+\.\d+\.\d+/);
    expect(packageVersion("no-such-package-tunegraph")).toBeUndefined();
    expect(machineLine(m)).toContain(`${m.cores} cores`);
  });
});
