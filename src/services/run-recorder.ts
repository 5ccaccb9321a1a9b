import type { CheckpointSaved, EvalMetric, TrainingMetric } from "../backends/types.js";
import type { ServiceContext } from "./context.js";
import { retryWhileUnavailable } from "./db-outage.js";
import type { EvalPayload, MetricPayload } from "./events.js";

type Level = "INFO" | "WARN" | "ERROR";

/**
 * Receives one run's training events: publishes each at once, writes metrics and logs in batches (a crash loses at
 * most the events since the last flush), and writes a checkpoint only after flushing everything before it.
 *
 * A database outage costs at most the writes it outlasts: each write is retried while the database is unavailable,
 * for up to `staleAfterMs` (after which every process counts the run as lost: it becomes INTERRUPTED). The first write
 * that fails for good is `error`; `onFailure` is told once (the owner stops the trainer) and later writes are skipped.
 * No method rejects.
 */
export class RunRecorder {
  private metrics: MetricPayload[] = [];
  private logs: { level: Level; message: string; at: Date }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly runId: string,
    private readonly onFailure: (err: unknown) => void = () => {},
  ) {}

  metric(m: TrainingMetric): void {
    const payload: MetricPayload = { ...m, at: new Date().toISOString() };
    this.metrics.push(payload);
    void this.ctx.hub.publish({ type: "metric", runId: this.runId, metric: payload });
    if (this.metrics.length >= this.ctx.config.metricBatchSize) void this.flush();
    else this.schedule();
  }

  log(level: Level, message: string): void {
    const at = new Date();
    this.logs.push({ level, message, at });
    void this.ctx.hub.publish({ type: "log", runId: this.runId, level, message, at: at.toISOString() });
    this.schedule();
  }

  async checkpoint(c: CheckpointSaved): Promise<void> {
    await this.flush();
    if (this.failure) return; // the checkpoint's files stay on disk; the run is ending
    try {
      const row = await this.retry(() =>
        this.ctx.prisma.checkpoint.upsert({
          where: { runId_step: { runId: this.runId, step: c.step } },
          create: { runId: this.runId, step: c.step, path: c.path },
          update: { path: c.path },
        }),
      );
      await this.ctx.hub.publish({
        type: "checkpoint",
        runId: this.runId,
        id: row.id,
        step: row.step,
        path: row.path,
        at: row.createdAt.toISOString(),
      });
    } catch (err) {
      this.fail(err, "writing a checkpoint failed");
    }
  }

  /** An evaluation: written at once (they are few), after everything before it, then published. Never rejects. */
  async evaluation(e: EvalMetric): Promise<void> {
    const row: EvalPayload = {
      step: e.step, evalLoss: e.evalLoss, evalTokens: e.evalTokens, evalRuntime: e.evalRuntime,
      evalSamplesPerSecond: e.evalSamplesPerSecond, epoch: e.epoch, at: new Date().toISOString(),
    };
    await this.flush();
    if (this.failure) return;
    try {
      await this.retry(() =>
        this.ctx.prisma.evalMetric.upsert({
          where: { runId_step: { runId: this.runId, step: e.step } },
          create: { ...row, runId: this.runId, at: new Date(row.at) },
          update: { ...row, at: new Date(row.at) },
        }),
      );
      await this.ctx.hub.publish({ type: "eval", runId: this.runId, eval: row });
    } catch (err) {
      this.fail(err, "writing an evaluation failed");
    }
  }

  /** Write what is buffered; resolves once it is in the database (or has failed for good: see `error`). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const metrics = this.metrics.splice(0);
    const logs = this.logs.splice(0);
    this.writing = this.writing
      .then(() => this.write(metrics, logs))
      .catch((err) => this.fail(err, "writing training metrics failed"));
    return this.writing;
  }

  /** The first write error, if any (the run is then ended by its owner: FAILED, or INTERRUPTED for an outage). */
  get error(): unknown {
    return this.failure;
  }

  private fail(err: unknown, what: string): void {
    if (this.failure) return;
    this.failure = err;
    this.ctx.log.error({ err, runId: this.runId }, what);
    this.onFailure(err);
  }

  private retry<T>(op: () => Promise<T>): Promise<T> {
    return retryWhileUnavailable(op, this.ctx.config.staleAfterMs);
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => void this.flush(), this.ctx.config.metricFlushMs);
  }

  private async write(metrics: MetricPayload[], logs: { level: Level; message: string; at: Date }[]): Promise<void> {
    if (this.failure) return;
    const { prisma } = this.ctx;
    if (metrics.length > 0) {
      const last = metrics[metrics.length - 1]!;
      await this.retry(() =>
        prisma.$transaction([
          prisma.trainingMetric.createMany({
            data: metrics.map((m) => ({ ...m, runId: this.runId, at: new Date(m.at) })),
            skipDuplicates: true,
          }),
          prisma.trainingRun.update({
            where: { id: this.runId },
            data: { currentStep: last.step, epoch: last.epoch, latestLoss: last.loss },
          }),
        ]),
      );
    }
    if (logs.length > 0) {
      await this.retry(() => prisma.trainingLog.createMany({ data: logs.map((l) => ({ ...l, runId: this.runId })) }));
    }
  }
}
