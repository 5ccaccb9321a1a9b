import { pino, type Logger } from "pino";
import { openDatabase } from "../db/database.js";
import { UserError } from "../model/errors.js";
import { makeDir } from "../model/make-dir.js";
import { asUserError } from "../model/system-errors.js";
import type { AppConfig } from "./config.js";
import type { Backends, ServiceContext } from "./context.js";
import { seedDemo } from "./demo.js";
import { EventHub } from "./events.js";
import { runMergeJob } from "./merges.js";
import { runPullJob } from "./pulls.js";
import { JobQueue } from "./queue.js";
import { sweepInterrupted } from "./run-status.js";
import { interruptActiveRuns, runTrainingJob } from "./training-worker.js";

export interface StartOptions {
  /** work training, merge and pull jobs in this process */
  worker: boolean;
  /** seed the demo model and dataset when the database is empty */
  demo: boolean;
  log?: Logger;
}

export interface RunningServices {
  ctx: ServiceContext;
  close(): Promise<void>;
}

/** Open the database (embedded or DATABASE_URL, migrated), the event hub and the job queue; optionally work jobs. */
export async function startServices(config: AppConfig, backends: Backends, opts: StartOptions): Promise<RunningServices> {
  const log = opts.log ?? pino({ name: "tunegraph" });
  await makeDir(config.dataDir).catch((err: unknown) => {
    throw new UserError(`data directory: ${(asUserError(err) as Error).message}`);
  });
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, log: (line) => log.debug({ postgres: line }) });
  if (db.applied.length > 0) log.info({ migrations: db.applied }, "database migrated");
  const hub = new EventHub(db.url, (msg, err) => log.error({ err }, msg));
  await hub.start();
  const queue = await JobQueue.start(db.url, (msg, err) => log.error({ err }, msg));
  const ctx: ServiceContext = { config, prisma: db.prisma, hub, queue, backends, log };

  await sweepInterrupted(ctx);
  const sweep = setInterval(
    () => void sweepInterrupted(ctx).catch((err) => log.error({ err }, "interrupted-run sweep failed")),
    Math.max(250, Math.floor(config.staleAfterMs / 2)),
  );
  if (opts.demo) await seedDemo(ctx);
  if (opts.worker) {
    await queue.workTraining(config.trainingConcurrency, (job) => runTrainingJob(ctx, job.runId, job.resume));
    await queue.workMerge((job) => runMergeJob(ctx, job.mergedModelId));
    await queue.workPull((job) => runPullJob(ctx, job.pullId));
  }
  return {
    ctx,
    close: async () => {
      clearInterval(sweep);
      await interruptActiveRuns(ctx);
      await queue.stop();
      await ctx.backends.close();
      await hub.close();
      await db.close();
    },
  };
}
