// The loss charts' data on one step axis, as uPlot takes it (pure functions: tests/unit/web/series.test.ts).
import type uPlot from "uplot";
import type { EvalMetric, Metric } from "./operations.js";
import { emaSmooth } from "./run-stats.js";

/** One series' points by step; null: logged but not finite (drawn as a gap). */
export type StepValues = ReadonlyMap<number, number | null>;

function byStep<T extends { step: number }>(rows: readonly T[], value: (row: T) => number | null): StepValues {
  return new Map(rows.map((r) => [r.step, value(r)]));
}

/** The train loss EMA-smoothed over its own points, by step. */
function smoothedLoss(metrics: readonly Metric[], weight: number): StepValues {
  const smoothed = emaSmooth(metrics.map((m) => m.loss), weight);
  return new Map(metrics.map((m, i) => [m.step, smoothed[i] ?? null]));
}

/**
 * Series logged at different steps (train loss every logging step, eval loss every evaluation) on the union of their
 * steps: `undefined` where a series has no point, which uPlot joins over, unlike null (a gap).
 */
export function alignByStep(series: readonly StepValues[]): uPlot.AlignedData {
  const steps = [...new Set(series.flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
  return [steps, ...series.map((s) => steps.map((step) => s.get(step)))];
}

/**
 * The run page's loss chart: loss, loss smoothed, grad norm, then eval loss when the run has evaluations. Eval points
 * are never smoothed: they are few and far apart, and each is already a mean over the validation split.
 */
export function lossChartData(metrics: readonly Metric[], evals: readonly EvalMetric[], smoothing: number): uPlot.AlignedData {
  return alignByStep([
    byStep(metrics, (m) => m.loss),
    smoothedLoss(metrics, smoothing),
    byStep(metrics, (m) => m.gradNorm),
    ...(evals.length > 0 ? [byStep(evals, (e) => e.evalLoss)] : []),
  ]);
}

export const hasEvals = (run: { evalMetrics: readonly EvalMetric[] }) => run.evalMetrics.length > 0;

/** The compare page's overlay: each run's (smoothed) loss, then the eval loss of each run that has evaluations. */
export function compareChartData(runs: readonly { metrics: readonly Metric[]; evalMetrics: readonly EvalMetric[] }[], smoothing: number): uPlot.AlignedData {
  return alignByStep([
    ...runs.map((r) => smoothedLoss(r.metrics, smoothing)),
    ...runs.filter(hasEvals).map((r) => byStep(r.evalMetrics, (e) => e.evalLoss)),
  ]);
}
