import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TfjsTrainingBackend } from "../../../src/backends/tfjs/backend.js";
import type { TrainingMetric, TrainingStarted } from "../../../src/backends/types.js";
import { UserError } from "../../../src/model/errors.js";
import { fixture, job } from "./fixtures.js";

let f: Awaited<ReturnType<typeof fixture>>;
const backend = new TfjsTrainingBackend();

beforeAll(async () => {
  f = await fixture();
});
afterAll(() => f.done());

describe("TfjsTrainingBackend (worker thread)", () => {
  it("trains off the caller's thread and delivers events", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const metrics: TrainingMetric[] = [];
    let started: TrainingStarted | undefined;
    const t0 = performance.now();
    const r = await backend.train(job(f, path.join(f.root, "w1"), { maxSteps: 6 }), {
      onStart: (s) => (started = s),
      onMetric: (m) => metrics.push(m),
    }, new AbortController().signal);
    clearInterval(timer);
    const ms = performance.now() - t0;
    expect(r.status).toBe("completed");
    expect(r.adapterDir).toBe(path.join(f.root, "w1", "adapter"));
    expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(started).toMatchObject({ maxSteps: 6, conversations: 4, info: { backend: "tfjs" } });
    expect(ticks).toBeGreaterThan(ms / 5 / 4); // the event loop kept running during training
    expect((await backend.describe()).backend).toBe("tfjs");
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
