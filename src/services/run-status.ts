import type { TrainingRun } from "../generated/prisma/client.js";
import type { ServiceContext } from "./context.js";
import type { RunStatusName } from "./events.js";

export const TERMINAL = ["SUCCEEDED", "FAILED", "CANCELLED", "INTERRUPTED"] as const;

export function isTerminal(status: string): boolean {
  return (TERMINAL as readonly string[]).includes(status);
}

/** What clients see: a RUNNING run asked to stop is CANCELLING until its worker has saved and ended it. */
export function shownStatus(run: { status: RunStatusName; cancelRequested: boolean }): RunStatusName {
  return run.status === "RUNNING" && run.cancelRequested ? "CANCELLING" : run.status;
}

/** Tell every subscriber (in any process) the run's status now. */
export function publishStatus(ctx: ServiceContext, run: TrainingRun): Promise<void> {
  return ctx.hub.publish({
    type: "status",
    runId: run.id,
    status: shownStatus(run),
    currentStep: run.currentStep,
    maxSteps: run.maxSteps,
    error: run.error,
    at: run.updatedAt.toISOString(),
  });
}

/**
 * Runs left RUNNING by a worker that stopped sending heartbeats (killed, machine lost) become INTERRUPTED, resumable
 * from their last checkpoint; such merges and Hub pulls become FAILED. Every API and worker process runs this at start-up and then
 * periodically. Returns the runs interrupted.
 */
export async function sweepInterrupted(ctx: ServiceContext): Promise<string[]> {
  const cutoff = new Date(Date.now() - ctx.config.staleAfterMs);
  const stale = await ctx.prisma.trainingRun.findMany({
    where: { status: "RUNNING", OR: [{ heartbeatAt: { lt: cutoff } }, { heartbeatAt: null }] },
    select: { id: true },
  });
  const marked: string[] = [];
  for (const { id } of stale) {
    const { count } = await ctx.prisma.trainingRun.updateMany({
      where: { id, status: "RUNNING", OR: [{ heartbeatAt: { lt: cutoff } }, { heartbeatAt: null }] },
      data: { status: "INTERRUPTED", error: "the worker running this job stopped (no heartbeat)", finishedAt: new Date() },
    });
    if (count === 0) continue;
    const run = await ctx.prisma.trainingRun.findUniqueOrThrow({ where: { id } });
    await publishStatus(ctx, run);
    ctx.log.warn({ runId: id }, "training run interrupted: its worker stopped");
    marked.push(id);
  }
  await ctx.prisma.mergedModel.updateMany({
    where: { status: "RUNNING", updatedAt: { lt: cutoff } },
    data: { status: "FAILED", error: "the worker running this merge stopped: merge the adapter again" },
  });
  await ctx.prisma.hubPull.updateMany({
    where: { status: "RUNNING", updatedAt: { lt: cutoff } },
    data: { status: "FAILED", error: "the worker running this pull stopped: pull again (it continues from the files already downloaded)" },
  });
  return marked;
}
