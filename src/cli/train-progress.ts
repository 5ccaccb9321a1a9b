import cliProgress from "cli-progress";
import { evalLine, metricLine } from "../backends/training/log-line.js";
import type { TrainingEvents } from "../backends/types.js";

/** tqdm's format_interval: "05:07", "1:02:03". */
export function formatInterval(seconds: number): string {
  const t = Math.max(0, Math.floor(seconds));
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
  const mmss = `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** tqdm's rate: "2.50it/s", or "1.39s/it" when a step takes over a second; "?it/s" while unknown. */
export function rateText(secondsPerStep: number | null): string {
  if (secondsPerStep === null) return "?it/s";
  return secondsPerStep > 1 ? `${secondsPerStep.toFixed(2)}s/it` : `${(1 / secondsPerStep).toFixed(2)}it/s`;
}

/**
 * Seconds per step, from the end of the first step reported to the end of the latest. The first step is left out: its
 * time holds the warm-up (kernels, ORT sessions, first allocations) that made the first ETA 4–7× too long. Between
 * step ends everything a step costs the run counts (checkpoints too), as in tqdm's rate.
 */
export class StepPace {
  private first: { step: number; at: number } | null = null;
  private last: { step: number; at: number } | null = null;

  /** Step `step` ended at `at` seconds (any fixed origin). */
  record(step: number, at: number): void {
    this.first ??= { step, at };
    this.last = { step, at };
  }

  /** null until a second step has ended */
  secondsPerStep(): number | null {
    if (!this.first || !this.last || this.last.step <= this.first.step || this.last.at <= this.first.at) return null;
    return (this.last.at - this.first.at) / (this.last.step - this.first.step);
  }

  /** Seconds left for the steps up to `total`, null while the pace is unknown. */
  remaining(total: number): number | null {
    const pace = this.secondsPerStep();
    return pace === null || !this.last ? null : pace * Math.max(0, total - this.last.step);
  }
}

/**
 * Show a training run's progress on `stream` (stderr): on a terminal, a bar redrawn every step, as HF Trainer's tqdm
 * bar (`42%|████░░░░| 21/50 [00:13<00:18, 1.57it/s, loss=2.3456]`), with each logging step's line (HF's dict) and
 * the run's other messages above it; elsewhere (a log, CI) only those lines. `line` prints one more, `stop` ends the bar.
 */
export function trainProgress(stream: NodeJS.WriteStream = process.stderr): { events: TrainingEvents; line: (text: string) => void; stop: () => void } {
  let multi: cliProgress.MultiBar | undefined;
  let bar: cliProgress.SingleBar | undefined;
  const pace = new StepPace();
  const line = (text: string): void => {
    if (multi) multi.log(`${text}\n`);
    else stream.write(`${text}\n`);
  };
  const events: TrainingEvents = {
    onStart: (e) => {
      const skipped = Object.entries(e.skipped).map(([k, n]) => `${k} ${n}`).join(", ");
      line(`training on ${e.info.engine} (${e.info.device}): ${e.conversations} conversations${skipped ? `, skipped ${skipped}` : ""}`);
      if (!stream.isTTY) return;
      multi = new cliProgress.MultiBar(
        {
          stream,
          // {duration_formatted}: the time since the bar started, redrawn live, in tqdm's form (formatTime)
          format: "{percentage}%|{bar}| {value}/{total} [{duration_formatted}<{remaining}, {rate}{loss}]",
          formatTime: formatInterval,
          barsize: 20,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar = multi.create(e.maxSteps, 0, { remaining: "?", rate: rateText(null), loss: "" });
    },
    onStep: (s) => {
      pace.record(s.step, performance.now() / 1000);
      const remaining = pace.remaining(s.maxSteps);
      bar?.update(s.step, { remaining: remaining === null ? "?" : formatInterval(remaining), rate: rateText(pace.secondsPerStep()), loss: `, loss=${s.loss.toFixed(4)}` });
    },
    onMetric: (m) => line(metricLine(m)),
    onCheckpoint: (c) => line(`saved ${c.path}`),
    onEval: (e) => line(evalLine(e)),
    onLog: (level, message) => line(`${level}: ${message}`),
  };
  const stop = (): void => {
    multi?.update(); // prints the lines logged since the last redraw, which stop() would drop
    multi?.stop();
    multi = undefined;
  };
  return { events, line, stop };
}
