import { hostname } from "node:os";
import type { DataOptions, TrainingHyperparameters, TrainingJob, TrainingResult } from "../backends/types.js";
import { endLine, evalLine } from "../backends/training/log-line.js";
import { isUserError } from "../model/errors.js";
import type { ServiceContext } from "./context.js";
import { isDatabaseUnavailable, retryWhileUnavailable } from "./db-outage.js";
import { directorySize } from "./files.js";
import { confineJobInputs } from "./paths.js";
import { RunRecorder } from "./run-recorder.js";
import { publishStatus } from "./run-status.js";

export const WORKER_ID = `${hostname()}:${process.pid}`;

// runs this process is training, to interrupt them on shutdown: their abort, and when their job has ended
const active = new Map<string, { abort: AbortController; ended: Promise<void> }>();
// how long a shutdown waits for interrupted runs to write their last metrics (a trainer stops at its next step)
const SHUTDOWN_WAIT_MS = 10_000;

/** Run one training job (called by the job queue in whichever process works it). */
export async function runTrainingJob(ctx: ServiceContext, runId: string, resume: boolean): Promise<void> {
  const { prisma } = ctx;
  const now = new Date();
  // claim the run: another worker, or a cancel, may have got there first
  const { count } = await prisma.trainingRun.updateMany({
    where: { id: runId, status: "QUEUED" },
    data: { status: "RUNNING", workerId: WORKER_ID, startedAt: now, heartbeatAt: now, cancelRequested: false },
  });
  if (count === 0) return;
  const run = await prisma.trainingRun.findUniqueOrThrow({
    where: { id: runId },
    include: { baseModel: true, dataset: true, validationDataset: true, checkpoints: { orderBy: { step: "desc" }, take: 1 } },
  });

  const abort = new AbortController();
  // a run whose metrics cannot be written stops training
  const recorder = new RunRecorder(ctx, runId, () => abort.abort());
  let ended!: () => void;
  active.set(runId, { abort, ended: new Promise<void>((resolve) => (ended = resolve)) });
  const offCancel = ctx.hub.on((e) => {
    if (e.type === "cancel" && e.runId === runId) abort.abort();
  });
  const heartbeat = setInterval(() => void beat(ctx, runId, abort), ctx.config.heartbeatMs);
  // checkpoint and evaluation writes, one after the other in the order the trainer reported them
  let orderedWrites: Promise<void> = Promise.resolve();
  const resumeFrom = resume ? run.checkpoints[0] : undefined;
  let lastCheckpointStep = resumeFrom?.step ?? null;

  try {
    if (resume) await rewind(ctx, recorder, runId, run.currentStep, resumeFrom?.step ?? 0);
    else recorder.log("INFO", "training started");
    await publishStatus(ctx, await prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } }));
    const initAdapter = run.initAdapterId ? await prisma.adapter.findUnique({ where: { id: run.initAdapterId } }) : null;
    const job: TrainingJob = {
      modelDir: run.baseModel.path,
      dataPath: run.dataset.path,
      outDir: run.outDir,
      hyperparameters: run.hyperparameters as unknown as TrainingHyperparameters,
      data: run.dataOptions as unknown as DataOptions,
      ...(initAdapter ? { initAdapterDir: initAdapter.path } : {}),
      ...(resumeFrom ? { resumeFrom: resumeFrom.path } : {}),
      ...(run.validationDataset ? { evalDataPath: run.validationDataset.path } : {}),
    };
    await confineJobInputs(ctx.config, [job.modelDir, ...(job.initAdapterDir ? [job.initAdapterDir] : [])], [job.dataPath, ...(job.evalDataPath ? [job.evalDataPath] : [])]);
    const backend = await ctx.backends.training();
    const result = await backend.train(
      job,
      {
        onStart: (s) => {
          void prisma.trainingRun
            .update({
              where: { id: runId },
              data: { maxSteps: s.maxSteps, backend: s.info.backend, engine: s.info.engine, device: s.info.device },
            })
            .then((r) => publishStatus(ctx, r))
            .catch((err) => ctx.log.error({ err, runId }, "recording training start failed"));
          recorder.log("INFO", `${s.conversations} conversations; ${s.maxSteps} steps on ${s.info.backend}/${s.info.engine} (${s.info.device})`);
        },
        onMetric: (m) => recorder.metric(m),
        // in order, after the metrics before it (recorder.checkpoint never rejects)
        onCheckpoint: (c) => {
          lastCheckpointStep = c.step;
          orderedWrites = orderedWrites.then(() => recorder.checkpoint(c));
        },
        // in order with the checkpoints: an evaluation is written before the checkpoint of its step
        onEval: (e) => {
          recorder.log("INFO", evalLine(e));
          orderedWrites = orderedWrites.then(() => recorder.evaluation(e));
        },
        onLog: (level, message) => recorder.log(level === "info" ? "INFO" : level === "warn" ? "WARN" : "ERROR", message),
      },
      abort.signal,
    );
    await orderedWrites;
    recorder.log("INFO", endLine(result, lastCheckpointStep));
    await recorder.flush();
    if (recorder.error) throw recorder.error;
    await retryWhileUnavailable(() => finish(ctx, runId, result), ctx.config.staleAfterMs);
  } catch (err) {
    await orderedWrites;
    await recorder.flush();
    await endFailed(ctx, runId, err).catch((e: unknown) =>
      // the database is still away: the run stays RUNNING until the sweep marks it INTERRUPTED (no heartbeat)
      ctx.log.error({ err: e, runId }, "recording the end of a training run failed"),
    );
  } finally {
    clearInterval(heartbeat);
    offCancel();
    active.delete(runId);
    ended();
  }
}

/**
 * A resumed run goes back to its checkpoint: the steps after it are trained (and logged) again. The LOG line saying so
 * is written before the status that carries the lower step, so no client sees the step go back unexplained.
 */
async function rewind(ctx: ServiceContext, recorder: RunRecorder, runId: string, reached: number, from: number): Promise<void> {
  const again = reached > from ? `; steps ${from + 1}-${reached} are trained again` : "";
  recorder.log("INFO", `resuming from ${from > 0 ? `checkpoint at step ${from}` : "the start (no checkpoint was saved)"}${again}`);
  await recorder.flush();
  await ctx.prisma.$transaction([
    ctx.prisma.trainingMetric.deleteMany({ where: { runId, step: { gt: from } } }),
    ctx.prisma.evalMetric.deleteMany({ where: { runId, step: { gt: from } } }),
    ctx.prisma.trainingRun.update({ where: { id: runId }, data: { currentStep: from } }),
  ]);
}

/**
 * A run that could not go on: FAILED with its error, or INTERRUPTED (resumable from its last checkpoint) when what
 * stopped it was the database going away. Waits up to `staleAfterMs` for the database.
 */
async function endFailed(ctx: ServiceContext, runId: string, err: unknown): Promise<void> {
  const outage = isDatabaseUnavailable(err);
  const message =
    outage ? `the database was unreachable for more than ${ctx.config.staleAfterMs} ms: resume the run from its last checkpoint`
    : isUserError(err) ? err.message
    : `training failed: ${(err as Error).message ?? String(err)}`;
  if (!isUserError(err) && !outage) ctx.log.error({ err, runId }, "training run failed");
  const status = outage ? "INTERRUPTED" : "FAILED";
  const ended = await retryWhileUnavailable(async () => {
    const { count } = await ctx.prisma.trainingRun.updateMany({
      where: { id: runId, status: "RUNNING" },
      data: { status, error: message, finishedAt: new Date() },
    });
    if (count === 0) return null;
    await ctx.prisma.trainingLog.create({ data: { runId, level: "ERROR", message } });
    return ctx.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } });
  }, ctx.config.staleAfterMs);
  if (!ended) return;
  await ctx.hub.publish({ type: "log", runId, level: "ERROR", message, at: new Date().toISOString() });
  await publishStatus(ctx, ended);
}

/**
 * On shutdown: this process's runs become INTERRUPTED (resumable at once) and their trainers are stopped; waits (up to
 * SHUTDOWN_WAIT_MS) for their jobs to write their last metrics while the database is still open.
 */
export async function interruptActiveRuns(ctx: ServiceContext): Promise<void> {
  const runs = [...active];
  for (const [runId, { abort }] of runs) {
    const { count } = await ctx.prisma.trainingRun.updateMany({
      where: { id: runId, status: "RUNNING" },
      data: { status: "INTERRUPTED", error: "the worker shut down", finishedAt: new Date() },
    });
    if (count > 0) await publishStatus(ctx, await ctx.prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } }));
    abort.abort();
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS)));
  await Promise.race([Promise.all(runs.map(([, r]) => r.ended)), timeout]);
  clearTimeout(timer);
}

async function finish(ctx: ServiceContext, runId: string, result: TrainingResult): Promise<void> {
  const { prisma } = ctx;
  const run = await prisma.trainingRun.findUniqueOrThrow({ where: { id: runId } });
  const hp = run.hyperparameters as unknown as TrainingHyperparameters;
  const sizeBytes = result.adapterDir ? BigInt(await directorySize(result.adapterDir)) : 0n;
  const ended = await prisma.$transaction(async (tx) => {
    // a run interrupted meanwhile (shutdown, missed heartbeats) keeps that status
    const { count } = await tx.trainingRun.updateMany({
      where: { id: runId, status: "RUNNING" },
      data: {
        status: result.status === "completed" ? "SUCCEEDED" : "CANCELLED",
        summary: result.summary as object,
        currentStep: result.summary.globalStep,
        epoch: result.summary.epoch,
        finishedAt: new Date(),
      },
    });
    if (count === 0) return null;
    if (result.status === "completed" && result.adapterDir) {
      await tx.adapter.upsert({
        where: { runId },
        create: {
          name: `run-${runId.slice(0, 8)}`,
          baseModelId: run.baseModelId,
          runId,
          r: hp.r,
          loraAlpha: hp.loraAlpha,
          loraDropout: hp.loraDropout,
          targetModules: hp.targetModules,
          path: result.adapterDir,
          sizeBytes,
        },
        update: { path: result.adapterDir, sizeBytes },
      });
    }
    return tx.trainingRun.findUniqueOrThrow({ where: { id: runId } });
  });
  if (ended) await publishStatus(ctx, ended);
}

/**
 * Mark the run alive; a cancel requested while this process missed the event is noticed here, and so is a run that
 * is no longer RUNNING (interrupted by the sweep while this worker could not reach the database): its trainer stops.
 */
async function beat(ctx: ServiceContext, runId: string, abort: AbortController): Promise<void> {
  try {
    const run = await ctx.prisma.trainingRun.update({
      where: { id: runId },
      data: { heartbeatAt: new Date() },
      select: { cancelRequested: true, status: true },
    });
    if (run.cancelRequested || run.status !== "RUNNING") abort.abort();
  } catch (err) {
    ctx.log.warn({ err, runId }, "training heartbeat failed");
  }
}
