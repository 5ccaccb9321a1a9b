import type { TrainingHyperparameters } from "../types.js";

export type ScheduleOptions = Pick<TrainingHyperparameters, "scheduler" | "learningRate" | "warmupSteps" | "warmupRatio">;

/** HF `TrainingArguments.get_warmup_steps`: explicit steps win, else ceil(total * ratio). */
export function warmupStepsFor(opts: ScheduleOptions, totalSteps: number): number {
  return opts.warmupSteps > 0 ? opts.warmupSteps : Math.ceil(totalSteps * opts.warmupRatio);
}

/**
 * The multiplier of HF's `get_{constant,linear,cosine}_schedule_with_warmup` at scheduler step `step` (0-based: the
 * first optimizer step uses step 0; HF logs the value after `scheduler.step()`, i.e. at the number of steps done).
 */
export function lrLambda(kind: ScheduleOptions["scheduler"], step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  if (kind === "constant") return 1;
  const progress = (step - warmup) / Math.max(1, total - warmup);
  if (kind === "linear") return Math.max(0, (total - step) / Math.max(1, total - warmup));
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress))); // num_cycles = 0.5
}

/** Learning rate at scheduler step `step` of a run of `totalSteps` optimizer steps. */
export function learningRateAt(opts: ScheduleOptions, step: number, totalSteps: number): number {
  return opts.learningRate * lrLambda(opts.scheduler, step, warmupStepsFor(opts, totalSteps), totalSteps);
}
