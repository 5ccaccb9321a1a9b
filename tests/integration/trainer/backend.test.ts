import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoraTrainingBackend } from "../../../src/backends/training/backend.js";
import type { TrainingMetric, TrainingStarted, TrainingStep } from "../../../src/backends/types.js";
import { UserError } from "../../../src/model/errors.js";
import { fixture, job } from "./fixtures.js";

let f: Awaited<ReturnType<typeof fixture>>;
const backend = new LoraTrainingBackend();

beforeAll(async () => {
  f = await fixture();
});
afterAll(() => f.done());

describe("LoraTrainingBackend (worker thread)", () => {
  it("trains off the caller's thread and delivers events", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const metrics: TrainingMetric[] = [];
    const steps: TrainingStep[] = [];
    let started: TrainingStarted | undefined;
    const t0 = performance.now();
    const r = await backend.train(job(f, path.join(f.root, "w1"), { maxSteps: 6, loggingSteps: 3 }), {
      onStart: (s) => (started = s),
      onMetric: (m) => metrics.push(m),
      onStep: (s) => steps.push(s),
    }, new AbortController().signal);
    clearInterval(timer);
    const ms = performance.now() - t0;
    expect(r.status).toBe("completed");
    expect(r.adapterDir).toBe(path.join(f.root, "w1", "adapter"));
    expect(metrics.map((m) => m.step)).toEqual([3, 6]);
    expect(steps.map((s) => [s.step, s.maxSteps])).toEqual([1, 2, 3, 4, 5, 6].map((step) => [step, 6]));
    expect(metrics[1].loss).toBeCloseTo((steps[3].loss + steps[4].loss + steps[5].loss) / 3, 5);
    // engine auto on a machine without CUDA or tfjs-node-gpu: the onnx engine on the CPU
    expect(started).toMatchObject({ maxSteps: 6, conversations: 4, info: { backend: "onnx", engine: "ort-cpu", device: "cpu" } });
    expect(ticks).toBeGreaterThan(ms / 5 / 4); // the event loop kept running during training
    expect(await backend.describe()).toMatchObject({ backend: "onnx", engine: "ort-cpu" });
  });

  it("runs the engine the job asks for; CUDA asked where it cannot load is one clear error", async () => {
    let started: TrainingStarted | undefined;
    await backend.train(job(f, path.join(f.root, "w4"), { maxSteps: 1, engine: "tfjs" }), { onStart: (s) => (started = s) }, new AbortController().signal);
    expect(started?.info).toMatchObject({ backend: "tfjs", engine: "wasm" });
    process.env.TUNEGRAPH_ORT_PROVIDER = "cuda";
    try {
      await expect(backend.train(job(f, path.join(f.root, "w5"), { maxSteps: 1, engine: "onnx" }), {}, new AbortController().signal))
        .rejects.toThrow(/^TUNEGRAPH_ORT_PROVIDER=cuda: onnxruntime-node cannot load its CUDA provider here/);
    } finally {
      delete process.env.TUNEGRAPH_ORT_PROVIDER;
    }
    await expect(backend.train(job(f, path.join(f.root, "w6"), { engine: "gpu" as never }), {}, new AbortController().signal)).rejects.toThrow(/engine must be one of auto, tfjs, onnx/);
  });

  it("cancels through the AbortSignal and passes user errors through as UserError", async () => {
    const ac = new AbortController();
    const r = await backend.train(job(f, path.join(f.root, "w2"), { maxSteps: 100, saveSteps: 1 }), {
      onCheckpoint: (c) => c.step === 1 && ac.abort(),
    }, ac.signal);
    expect(r.status).toBe("cancelled");
    expect(r.summary.globalStep).toBeLessThanOrEqual(2);
    const busy = path.join(f.root, "w3");
    await mkdir(path.join(busy, "adapter"), { recursive: true });
    const e = await backend.train(job(f, busy, {}), {}, new AbortController().signal).catch((x) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(e.code).toBe("CONFLICT");
    await expect(backend.train(job(f, busy, { loraAlpha: -1 }), {}, new AbortController().signal)).rejects.toThrow("loraAlpha must be a number in (0, 1000000], got -1");
  });
});
