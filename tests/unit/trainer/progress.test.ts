import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { TrainingEvents } from "../../../src/backends/types.js";
import { formatInterval, rateText, StepPace, trainProgress } from "../../../src/cli/train-progress.js";

/** A stream that says it is (or is not) a terminal, keeping what was written. */
function stream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write: (c, _e, done) => (chunks.push(String(c)), done()) }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(w, { isTTY, columns: 120, text: () => chunks.join("") });
  return w;
}

function feed(events: TrainingEvents): void {
  events.onStart?.({ maxSteps: 10, info: { backend: "lora", engine: "ort-cpu", device: "cpu", threads: 2 }, conversations: 4, skipped: {} });
  events.onStep?.({ step: 1, maxSteps: 10, loss: 2.5 });
  events.onStep?.({ step: 2, maxSteps: 10, loss: 2.25 });
  events.onMetric?.({ step: 2, loss: 2.345678, gradNorm: 0.5, learningRate: 2e-4, epoch: 0.5, tokensPerSecond: 100 });
  events.onStep?.({ step: 3, maxSteps: 10, loss: NaN });
  events.onLog?.("warn", "step 3: loss is not finite (NaN): update skipped (1 in a row)");
}

const HF_LINE = "{'loss': 2.3457, 'grad_norm': 0.5, 'learning_rate': 0.0002, 'epoch': 0.5}";

describe("training progress on the CLI", () => {
  it("not a terminal: HF Trainer's line per logging step and the messages, no bar or escape codes", () => {
    const out = stream(false);
    const p = trainProgress(out);
    feed(p.events);
    p.stop();
    expect(out.text()).toBe(
      `training on ort-cpu (cpu): 4 conversations\n${HF_LINE}\nwarn: step 3: loss is not finite (NaN): update skipped (1 in a row)\n`,
    );
  });

  it("a terminal: tqdm's bar (step/total, elapsed<remaining, rate, last loss) below the lines", () => {
    const out = stream(true);
    const p = trainProgress(out);
    feed(p.events);
    p.stop();
    const text = out.text();
    expect(text).toContain(`${HF_LINE}\n`);
    expect(text).toMatch(/30%\|█{6}░{14}\| 3\/10 \[00:00<00:\d\d, [\d.]+(it\/s|s\/it), loss=NaN\]/);
    expect(text.indexOf(HF_LINE)).toBeLessThan(text.lastIndexOf("3/10"));
  });

  it("the pace leaves out the first step (warm-up); resumed runs too", () => {
    const pace = new StepPace();
    pace.record(1, 100); // loading and warm-up: 100 s
    expect(pace.secondsPerStep()).toBeNull();
    expect(pace.remaining(500)).toBeNull();
    pace.record(2, 102);
    pace.record(3, 103);
    expect(pace.secondsPerStep()).toBe(1.5);
    expect(pace.remaining(500)).toBe(497 * 1.5);
    const resumed = new StepPace();
    resumed.record(301, 40);
    resumed.record(311, 45);
    expect([resumed.secondsPerStep(), resumed.remaining(500)]).toEqual([0.5, 189 * 0.5]);
  });

  it("times and rates as tqdm writes them", () => {
    expect([0, 65.9, 3599, 3723, 36_000].map(formatInterval)).toEqual(["00:00", "01:05", "59:59", "1:02:03", "10:00:00"]);
    expect([null, 0.4, 1, 1.386].map(rateText)).toEqual(["?it/s", "2.50it/s", "1.00it/s", "1.39s/it"]);
  });
});
