import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import PgBoss from "pg-boss";
import { UserError } from "../model/errors.js";

export const TRAINING_QUEUE = "training";
export const MERGE_QUEUE = "merge";
export const PULL_QUEUE = "pull";

export interface TrainingJobData {
  runId: string;
  resume: boolean;
}

export interface MergeJobData {
  mergedModelId: string;
}

export interface PullJobData {
  pullId: string;
}

type Log = (msg: string, err?: unknown) => void;

const SCHEMA = "pgboss";
const SCHEMA_VERSION: number = createRequire(import.meta.url)("pg-boss/version.json").schema;
// pg-boss 10 takes expirations under 24 h; a longer training keeps running (the run's own heartbeat, not the job
// record, says it is alive)
const EXPIRE_SECONDS = 24 * 3600 - 1;
const POLL_MS = 500;
// how long stop() lets a job that is still running (a merge: training runs are interrupted before) finish
const STOP_WAIT_MS = 2000;

/**
 * The pg-boss job queue (schema `pgboss` in the same database). A worker that dies leaves its job to our own
 * heartbeat sweep (the run becomes INTERRUPTED), so pg-boss never retries by itself.
 *
 * Workers are our own fetch loops rather than pg-boss's `work()`: pg-boss 10 does not await the completion it
 * writes after a handler, so a database outage at that moment would be an unhandled rejection, and it fails a
 * handler that runs longer than the expiration (a long training).
 */
export class JobQueue {
  private readonly stopping = new AbortController();
  private readonly loops: Promise<void>[] = [];
  /** job id → queue, for the jobs a loop is running now */
  private readonly running = new Map<string, string>();

  private constructor(
    private readonly boss: PgBoss,
    private readonly log: Log,
  ) {}

  static async start(url: string, log: Log): Promise<JobQueue> {
    await refuseNewerSchema(url);
    // no cron schedules here: `schedule: false` saves pg-boss's clock and cron polling
    const boss = new PgBoss({ connectionString: url, max: 4, application_name: "tunegraph-jobs", schedule: false });
    boss.on("error", (err) => log("job queue error", err));
    await boss.start();
    for (const name of [TRAINING_QUEUE, MERGE_QUEUE, PULL_QUEUE]) {
      await boss.createQueue(name, { name, retryLimit: 0, expireInSeconds: EXPIRE_SECONDS });
    }
    return new JobQueue(boss, log);
  }

  async sendTraining(data: TrainingJobData): Promise<void> {
    await this.boss.send(TRAINING_QUEUE, data, { retryLimit: 0 });
  }

  async sendMerge(data: MergeJobData): Promise<void> {
    await this.boss.send(MERGE_QUEUE, data, { retryLimit: 0 });
  }

  async sendPull(data: PullJobData): Promise<void> {
    await this.boss.send(PULL_QUEUE, data, { retryLimit: 0 });
  }

  async workTraining(concurrency: number, handler: (data: TrainingJobData) => Promise<void>): Promise<void> {
    for (let i = 0; i < concurrency; i++) this.loops.push(this.work(TRAINING_QUEUE, handler));
  }

  async workMerge(handler: (data: MergeJobData) => Promise<void>): Promise<void> {
    this.loops.push(this.work(MERGE_QUEUE, handler));
  }

  async workPull(handler: (data: PullJobData) => Promise<void>): Promise<void> {
    this.loops.push(this.work(PULL_QUEUE, handler));
  }

  /** Runs one job of `queue` at a time until stop(); every failure is logged, none escapes. */
  private async work<T extends object>(queue: string, handler: (data: T) => Promise<void>): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      const job = await this.boss.fetch<T>(queue, { batchSize: 1 }).then(
        (jobs) => jobs[0],
        (err: unknown) => void this.log(`could not fetch a ${queue} job`, err),
      );
      if (!job) {
        await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
        continue;
      }
      this.running.set(job.id, queue);
      const failure = await handler(job.data).then(
        () => null,
        (err: unknown) => ({ message: err instanceof Error ? err.message : String(err) }),
      );
      // a job stop() has failed already is not written again
      if (!this.running.delete(job.id)) continue;
      const written = failure ? this.boss.fail(queue, job.id, failure) : this.boss.complete(queue, job.id);
      await written.catch((err: unknown) => this.log(`could not record the end of ${queue} job ${job.id}`, err));
    }
  }

  /** Stops taking jobs, lets running ones end (briefly), fails those still running, and closes the connections. */
  async stop(): Promise<void> {
    this.stopping.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.loops), new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
    for (const [id, queue] of this.running) {
      this.running.delete(id);
      await this.boss.fail(queue, id, { message: "the worker shut down" }).catch((err: unknown) => this.log(`could not fail ${queue} job ${id}`, err));
    }
    await this.boss.stop({ graceful: false, close: true });
  }
}

/** pg-boss 10 leaves a schema made by a newer pg-boss as it is and then misreads it: say so instead. */
async function refuseNewerSchema(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: [table] } = await client.query<{ name: string | null }>(`SELECT to_regclass('${SCHEMA}.version') AS name`);
    if (!table?.name) return;
    const { rows } = await client.query<{ version: string }>(`SELECT version FROM ${SCHEMA}.version`);
    const version = Number(rows[0]?.version ?? 0);
    if (version > SCHEMA_VERSION) {
      throw new UserError(
        `the job queue in schema "${SCHEMA}" was made by a newer pg-boss (schema ${version}; this version uses ${SCHEMA_VERSION}): ` +
          `once no job is queued, drop it (DROP SCHEMA ${SCHEMA} CASCADE) and start again`,
      );
    }
  } finally {
    await client.end();
  }
}
