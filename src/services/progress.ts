import type { EvalMetric, TrainingMetric } from "../generated/prisma/client.js";
import { AsyncQueue } from "./async-queue.js";
import type { ServiceContext } from "./context.js";
import type { EvalPayload, HubEvent, MetricPayload, RunStatusName } from "./events.js";
import { isTerminal, shownStatus } from "./run-status.js";
import { getRun } from "./training.js";

const SNAPSHOT_METRICS = 100;
const SNAPSHOT_LOGS = 100;

type RunEvent = Exclude<HubEvent, { type: "cancel" }>;

/** One event of a run, carrying the run's status and step as of that event. */
export interface ProgressEvent {
  kind: "STATE" | "STATUS" | "METRIC" | "EVAL" | "CHECKPOINT" | "LOG";
  runId: string;
  status: RunStatusName;
  currentStep: number;
  maxSteps: number;
  error: string | null;
  at: string;
  metric: MetricPayload | null;
  /** STATE: the latest metrics so far, oldest first */
  metrics: (TrainingMetric | MetricPayload)[] | null;
  eval: EvalPayload | null;
  /** STATE: every evaluation so far, by step */
  evalMetrics: (EvalMetric | EvalPayload)[] | null;
  /** STATE: the latest log lines so far, oldest first (a late subscriber misses none of the recent ones) */
  logs: LogLine[] | null;
  checkpoint: { id: string; step: number; path: string; createdAt: string } | null;
  log: LogLine | null;
}

interface LogLine {
  level: string;
  message: string;
  at: string;
}

/**
 * A run's events in order, from whichever process trains it: first its current state (so a late subscriber is
 * never blank), then status, metric, checkpoint and log events, ending after the run ends.
 * Throws NOT_FOUND before anything is sent when the run does not exist.
 */
export async function trainingProgress(ctx: ServiceContext, runId: string): Promise<AsyncGenerator<ProgressEvent>> {
  await getRun(ctx, runId);
  // listen before reading the state, so nothing falls between the two
  const queue = new AsyncQueue<RunEvent>();
  const off = ctx.hub.on((e) => {
    if (e.type !== "cancel" && e.runId === runId) queue.push(e);
  });
  return (async function* () {
    try {
      const run = await getRun(ctx, runId);
      const [metricRows, evalMetrics, logRows] = await Promise.all([
        ctx.prisma.trainingMetric.findMany({ where: { runId }, orderBy: { step: "desc" }, take: SNAPSHOT_METRICS }),
        ctx.prisma.evalMetric.findMany({ where: { runId }, orderBy: { step: "asc" } }),
        ctx.prisma.trainingLog.findMany({ where: { runId }, orderBy: { id: "desc" }, take: SNAPSHOT_LOGS }),
      ]);
      const metrics = metricRows.reverse();
      const logs = logRows.reverse().map((l) => ({ level: l.level, message: l.message, at: l.at.toISOString() }));
      const state: ProgressEvent = {
        kind: "STATE",
        runId,
        status: shownStatus(run),
        currentStep: Math.max(run.currentStep, metrics.at(-1)?.step ?? 0),
        maxSteps: run.maxSteps,
        error: run.error,
        at: new Date().toISOString(),
        metric: null,
        metrics,
        eval: null,
        evalMetrics,
        logs,
        checkpoint: null,
        log: null,
      };
      yield state;
      if (isTerminal(run.status)) return;
      // events heard while reading the state may repeat what it already holds
      let overlap = queue.length;
      const seenStep = metrics.at(-1)?.step ?? -1;
      const seenLogs = new Set(logs.map(logKey));
      const seenEvals = new Set(evalMetrics.map((e) => e.step));
      for await (const e of queue) {
        const replay = overlap-- > 0;
        if (replay && e.type === "metric" && e.metric.step <= seenStep) continue;
        if (replay && e.type === "log" && seenLogs.has(logKey(e))) continue;
        if (replay && e.type === "eval" && seenEvals.has(e.eval.step)) continue;
        const event = apply(state, e);
        yield event;
        if (e.type === "status" && isTerminal(e.status)) return;
      }
    } finally {
      off();
      queue.close();
    }
  })();
}

const logKey = (l: LogLine) => `${l.at} ${l.message}`;

/** Fold an event into the running state and return it as a ProgressEvent. */
function apply(state: ProgressEvent, e: RunEvent): ProgressEvent {
  const base = { ...state, metric: null, metrics: null, eval: null, evalMetrics: null, logs: null, checkpoint: null, log: null };
  switch (e.type) {
    case "status":
      Object.assign(state, { status: e.status, currentStep: e.currentStep, maxSteps: e.maxSteps, error: e.error });
      return { ...base, kind: "STATUS", status: e.status, currentStep: e.currentStep, maxSteps: e.maxSteps, error: e.error, at: e.at };
    case "metric":
      state.currentStep = e.metric.step;
      return { ...base, kind: "METRIC", currentStep: e.metric.step, metric: e.metric, at: e.metric.at };
    case "eval":
      return { ...base, kind: "EVAL", eval: e.eval, at: e.eval.at };
    case "checkpoint":
      return { ...base, kind: "CHECKPOINT", checkpoint: { id: e.id, step: e.step, path: e.path, createdAt: e.at }, at: e.at };
    case "log":
      return { ...base, kind: "LOG", log: { level: e.level, message: e.message, at: e.at }, at: e.at };
  }
}
