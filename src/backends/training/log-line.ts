import type { EvalMetric, TrainingMetric, TrainingResult } from "../types.js";
import type { EvalLogEntry } from "./trainer-state.js";

/**
 * A log record as HF Trainer prints it (`{'loss': 1.2345, 'grad_norm': 0.5, 'learning_rate': 0.0002, 'epoch': 0.5}`):
 * Python's dict repr, so a line can be read the same way as a Trainer's.
 */
export function hfLogLine(record: Record<string, number>): string {
  return `{${Object.entries(record).map(([k, v]) => `'${k}': ${pythonFloat(v)}`).join(", ")}}`;
}

/** repr() of a Python float: shortest round-trip digits, exponent form below 1e-4 and from 1e16, "1.0" for whole numbers. */
function pythonFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    const [mantissa, exponent] = x.toExponential().split("e") as [string, string];
    const sign = exponent.startsWith("-") ? "-" : "+";
    return `${mantissa}e${sign}${exponent.replace(/^[-+]/, "").padStart(2, "0")}`;
  }
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** A logging step's line as HF Trainer prints it; the loss rounded to 4 places as HF's is. */
export function metricLine(m: TrainingMetric): string {
  return hfLogLine({ loss: Math.round(m.loss * 1e4) / 1e4, grad_norm: m.gradNorm, learning_rate: m.learningRate, epoch: m.epoch });
}

/** How a run ended, in one line: the summary HF Trainer prints, or where a cancel stopped and what it kept. */
export function endLine(result: TrainingResult, lastCheckpointStep: number | null): string {
  const s = result.summary;
  if (result.status === "cancelled") {
    return `cancelled at step ${s.globalStep}; ${lastCheckpointStep === null ? "no checkpoint yet" : `last checkpoint ${lastCheckpointStep}`}`;
  }
  const line = hfLogLine({
    train_runtime: s.trainRuntime,
    train_samples_per_second: s.trainSamplesPerSecond,
    train_steps_per_second: s.trainStepsPerSecond,
    train_loss: s.trainLoss,
    epoch: s.epoch,
  });
  return s.skippedSteps > 0 ? `${line}; ${skippedText(s.skippedSteps)}` : line;
}

/** "3 updates skipped (loss or gradient norm not finite)" */
export function skippedText(n: number): string {
  return `${n} ${n === 1 ? "update" : "updates"} skipped (loss or gradient norm not finite)`;
}

/** An evaluation as HF Trainer records it in `log_history` (and prints it: hfLogLine of the same fields but step). */
export function evalLogEntry(e: EvalMetric): EvalLogEntry {
  return {
    eval_loss: e.evalLoss, eval_runtime: e.evalRuntime, eval_samples_per_second: e.evalSamplesPerSecond,
    eval_steps_per_second: e.evalStepsPerSecond, epoch: e.epoch, step: e.step,
  };
}

/** The line HF Trainer prints after an evaluation: `{'eval_loss': ..., 'eval_runtime': ..., ..., 'epoch': ...}`. */
export function evalLine(e: EvalMetric): string {
  const { step: _step, ...record } = evalLogEntry(e);
  return hfLogLine(record);
}
