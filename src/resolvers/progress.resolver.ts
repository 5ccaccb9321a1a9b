import { Arg, ID, Resolver, Root, Subscription } from "type-graphql";
import { trainingProgress, type ProgressEvent } from "../services/progress.js";
import { ProgressKind, RunStatus } from "../schema/enums.js";
import { TrainingProgressEvent } from "../schema/types.js";
import type { ApiContext } from "./context.js";
import { toCheckpoint, toEval, toLog, toMetric } from "./map.js";

@Resolver()
export class ProgressResolver {
  @Subscription(() => TrainingProgressEvent, {
    description: "a run's events in order: its current state first, then status, metric, checkpoint and log events; ends with the run",
    subscribe: ({ args, context }) => trainingProgress((context as ApiContext).services, args.runId as string),
  })
  trainingProgress(@Root() e: ProgressEvent, @Arg("runId", () => ID) _runId: string): TrainingProgressEvent {
    return {
      kind: e.kind as ProgressKind,
      runId: e.runId,
      status: e.status as RunStatus,
      currentStep: e.currentStep,
      maxSteps: e.maxSteps,
      error: e.error,
      at: new Date(e.at),
      metric: e.metric ? toMetric(e.metric) : null,
      metrics: e.metrics ? e.metrics.map(toMetric) : null,
      eval: e.eval ? toEval(e.eval) : null,
      evalMetrics: e.evalMetrics ? e.evalMetrics.map(toEval) : null,
      logs: e.logs ? e.logs.map(toLog) : null,
      checkpoint: e.checkpoint ? toCheckpoint(e.checkpoint) : null,
      log: e.log ? toLog(e.log) : null,
    };
  }
}
