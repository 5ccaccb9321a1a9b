import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endLine } from "../../../src/backends/training/log-line.js";
import { loraParams } from "../../../src/backends/training/lora.js";
import type { StepEngineFactory } from "../../../src/backends/training/step-engine.js";
import { loadTrainerState } from "../../../src/backends/training/trainer-state.js";
import { train } from "../../../src/backends/training/trainer.js";
import type { TrainingHyperparameters, TrainingJob, TrainingMetric } from "../../../src/backends/types.js";
import { UserError } from "../../../src/model/errors.js";
import { readAdapter } from "../../../src/model/peft.js";
import { fixture, job } from "../../integration/trainer/fixtures.js";

// Issue #17: a step whose loss or gradient norm is not finite is skipped (no update), counted and logged; a run of
// maxSkippedSteps of them ends the run. The real trainer loop, on an engine whose losses and gradients are chosen.

let f: Awaited<ReturnType<typeof fixture>>;
let n = 0;
const out = () => path.join(f.root, `out-${n++}`);

beforeAll(async () => {
  f = await fixture();
});
afterAll(() => f.done());

type Bad = "loss" | "grad";

/**
 * Step k's loss is k; its gradients are 0.01 everywhere. `bad` makes step k's loss NaN or one gradient +Infinity.
 * `firstStep`: the global step before the engine's first micro-step (a resumed run). Records the steps after which
 * the trainer handed it new LoRA tensors.
 */
function fakeEngine(bad: Record<number, Bad>, firstStep = 0): { factory: StepEngineFactory; updatedAt: number[] } {
  const updatedAt: number[] = [];
  let step = firstStep;
  const factory: StepEngineFactory = {
    info: { backend: "fake", engine: "fake", device: "cpu", threads: 1 },
    checkFits: () => {},
    load: async (_config, _read, hp, lora) => {
      const sizes = loraParams(lora, hp.r).map((p) => p.length);
      return {
        microStep: async (_batch, weight) => {
          step++;
          const grads = sizes.map((size) => new Float32Array(size).fill(0.01 * weight));
          if (bad[step] === "grad") grads[0][0] = Infinity;
          return { loss: (bad[step] === "loss" ? NaN : step) * weight, grads };
        },
        // these jobs have no eval set: the trainer never evaluates
        evalLoss: async () => {
          throw new Error("evaluated without an eval set");
        },
        setParams: () => void updatedAt.push(step),
        dispose: () => {},
      };
    },
  };
  return { factory, updatedAt };
}

async function run(hp: Partial<TrainingHyperparameters>, bad: Record<number, Bad>, extra: Partial<TrainingJob> = {}, firstStep = 0) {
  const metrics: TrainingMetric[] = [];
  const warnings: string[] = [];
  const steps: number[] = [];
  const outDir = out();
  const engine = fakeEngine(bad, firstStep);
  const events = {
    onMetric: (m: TrainingMetric) => metrics.push(m),
    onStep: (s: { step: number }) => steps.push(s.step),
    onLog: (level: string, message: string) => void (level === "warn" && warnings.push(message)),
  };
  const result = train(job(f, outDir, { loggingSteps: 2, ...hp }, extra), events, new AbortController().signal, engine.factory);
  return { result, metrics, warnings, steps, updatedAt: engine.updatedAt, outDir };
}

const checkpoint = async (outDir: string, step: number) => {
  const dir = path.join(outDir, `checkpoint-${step}`);
  const [{ state, moments }, adapter] = await Promise.all([loadTrainerState(dir), readAdapter(dir)]);
  return { state, moments: [...moments.values()].map((m) => Array.from(m)), weights: adapter.weights.map((w) => [Array.from(w.A), Array.from(w.B)]) };
};

describe("steps whose loss or gradients are not finite", () => {
  it("are skipped: weights and optimizer state untouched, the step counted, logged; the run goes on and succeeds", async () => {
    const r = await run({ maxSteps: 6, saveSteps: 1, maxSkippedSteps: 2 }, { 2: "loss", 4: "grad" });
    const result = await r.result;
    expect(result.status).toBe("completed");
    expect(result.summary).toMatchObject({ globalStep: 6, skippedSteps: 2 });
    expect(r.steps).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.updatedAt).toEqual([1, 3, 5, 6]);
    expect(r.warnings).toEqual([
      "step 2: loss is not finite (NaN): update skipped (1 in a row)",
      "step 4: the gradient norm is not finite (Infinity): update skipped (1 in a row)",
    ]);
    // the window means and the run's mean leave the skipped steps out
    expect(r.metrics.map((m) => [m.step, m.loss])).toEqual([[2, 1], [4, 3], [6, 5.5]]);
    expect(r.metrics[1].gradNorm).toBe(Infinity);
    expect(result.summary.trainLoss).toBe((1 + 3 + 5 + 6) / 4);
    expect(endLine(result, 6)).toMatch(/^\{'train_runtime': .*\}; 2 updates skipped \(loss or gradient norm not finite\)$/);

    const [c1, c2, c3, c4] = await Promise.all([1, 2, 3, 4].map((s) => checkpoint(r.outDir, s)));
    expect(c2.weights).toEqual(c1.weights);
    expect(c2.moments).toEqual(c1.moments);
    expect([c1, c2, c3, c4].map((c) => [c.state.global_step, c.state.optimizer_step, c.state.skipped_steps])).toEqual([[1, 1, 0], [2, 1, 1], [3, 2, 1], [4, 2, 2]]);
    expect(c3.weights).not.toEqual(c2.weights);
    expect(c4.weights).toEqual(c3.weights);
  });

  it("a finite step resets the count; maxSkippedSteps in a row end the run naming the steps", async () => {
    const isolated = await run({ maxSteps: 7, maxSkippedSteps: 3 }, { 2: "loss", 3: "grad", 5: "loss", 6: "loss" });
    expect((await isolated.result).summary.skippedSteps).toBe(4);

    const r = await run({ maxSteps: 10, maxSkippedSteps: 3 }, { 3: "grad", 4: "loss", 5: "loss" });
    const err = await r.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(
      "loss is not finite (NaN) at steps 3-5: 3 updates skipped in a row: training stopped; check the base model's weights (NaN or Inf) and the learning rate",
    );
    expect(r.steps).toEqual([1, 2, 3, 4, 5]);
    expect(r.warnings.at(-1)).toBe("step 5: loss is not finite (NaN): update skipped (3 in a row)");
    // a window of skipped steps only: its loss is the last step's (served as null)
    expect(r.metrics.map((m) => [m.step, m.loss])).toEqual([[2, 1.5], [4, NaN]]);
  });

  it("a resumed run restores the counts: it fails at the step the uninterrupted run would", async () => {
    const first = await run({ maxSteps: 2, saveSteps: 2, maxSkippedSteps: 2 }, { 2: "loss" });
    expect((await first.result).summary.skippedSteps).toBe(1);
    const resumed = await run({ maxSteps: 6, saveSteps: 2, maxSkippedSteps: 2 }, { 3: "grad" }, { resumeFrom: path.join(first.outDir, "checkpoint-2") }, 2);
    await expect(resumed.result).rejects.toThrow(/^the gradient norm is not finite \(Infinity\) at steps 2-3: 2 updates skipped in a row/);
  });
});
