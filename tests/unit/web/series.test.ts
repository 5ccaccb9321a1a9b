import { describe, expect, it } from "vitest";
import type { EvalMetric, Metric } from "../../../web/src/operations.js";
import { emaSmooth } from "../../../web/src/run-stats.js";
import { alignByStep, compareChartData, lossChartData } from "../../../web/src/series.js";

const at = "2026-01-01T00:00:00.000Z";
const metric = (step: number, loss: number, gradNorm = 1): Metric =>
  ({ step, loss, gradNorm, learningRate: 2e-4, epoch: step / 100, tokensPerSecond: 100, at });
const evaluation = (step: number, evalLoss: number | null): EvalMetric =>
  ({ step, evalLoss, perplexity: evalLoss === null ? null : Math.exp(evalLoss), evalTokens: 1000, evalRuntime: 2, evalSamplesPerSecond: 8, epoch: step / 100, at });

describe("loss chart series", () => {
  it("puts series on the union of their steps: undefined where one has no point (joined), null kept (a gap)", () => {
    const data = alignByStep([new Map([[1, 3], [3, null]]), new Map([[2, 5], [3, 4]])]);
    expect(data).toEqual([[1, 2, 3], [3, undefined, null], [undefined, 5, 4]]);
  });

  it("draws eval loss as its own series at the steps evaluated, never smoothed", () => {
    const metrics = [metric(1, 4), metric(2, 2), metric(3, 3), metric(4, 1)];
    const evals = [evaluation(2, 3.5), evaluation(4, 2.5)];
    const [steps, loss, smoothed, gradNorm, evalLoss] = lossChartData(metrics, evals, 0.9);
    expect(steps).toEqual([1, 2, 3, 4]);
    expect(loss).toEqual([4, 2, 3, 1]);
    expect(smoothed).toEqual(emaSmooth([4, 2, 3, 1], 0.9)); // the train loss is smoothed...
    expect(evalLoss).toEqual([undefined, 3.5, undefined, 2.5]); // ...the eval loss is as evaluated
    expect(gradNorm).toEqual([1, 1, 1, 1]);
  });

  it("smooths the train loss over its own points only, as without evaluations", () => {
    const metrics = [metric(10, 4), metric(20, 2), metric(30, 3)];
    const plain = lossChartData(metrics, [], 0.6);
    // an evaluation between logging steps adds a step to the axis, and nothing to the smoothing
    const [steps, loss, smoothed, , evalLoss] = lossChartData(metrics, [evaluation(15, 3)], 0.6);
    expect(plain).toHaveLength(4); // no eval column without evaluations
    expect(steps).toEqual([10, 15, 20, 30]);
    expect(loss).toEqual([4, undefined, 2, 3]);
    expect([...smoothed!].filter((v) => v !== undefined)).toEqual(plain[2]);
    expect(evalLoss).toEqual([undefined, 3, undefined, undefined]);
  });

  it("keeps a non-finite eval loss as a gap", () => {
    const [, , , , evalLoss] = lossChartData([metric(1, 2), metric(2, 2)], [evaluation(1, null), evaluation(2, 1.5)], 0);
    expect(evalLoss).toEqual([null, 1.5]);
  });

  it("overlays each run's loss, then the eval loss of the runs that have evaluations", () => {
    const a = { metrics: [metric(1, 4), metric(2, 3)], evalMetrics: [evaluation(2, 3.2)] };
    const b = { metrics: [metric(1, 5), metric(3, 2)], evalMetrics: [] };
    const data = compareChartData([a, b], 0);
    expect(data).toEqual([[1, 2, 3], [4, 3, undefined], [5, undefined, 2], [undefined, 3.2, undefined]]);
  });
});
