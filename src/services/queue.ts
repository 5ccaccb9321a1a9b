import { PgBoss } from "pg-boss";

export const TRAINING_QUEUE = "training";
export const MERGE_QUEUE = "merge";

export interface TrainingJobData {
  runId: string;
  resume: boolean;
}

export interface MergeJobData {
  mergedModelId: string;
}

// pg-boss's upper bound; a longer training keeps running (the run's own heartbeat, not the job record, says it is alive)
const DAY = 24 * 3600;

/** The pg-boss job queue (schema `pgboss` in the same database). A worker that dies leaves its job to our own
 * heartbeat sweep (the run becomes INTERRUPTED), so pg-boss never retries by itself. */
export class JobQueue {
  private constructor(private readonly boss: PgBoss) {}

  static async start(url: string, log: (msg: string, err?: unknown) => void): Promise<JobQueue> {
    const boss = new PgBoss({ connectionString: url, max: 4, application_name: "tunegraph-jobs" });
    boss.on("error", (err) => log("job queue error", err));
    await boss.start();
    for (const name of [TRAINING_QUEUE, MERGE_QUEUE]) {
      await boss.createQueue(name, { retryLimit: 0, expireInSeconds: DAY, deleteAfterSeconds: 7 * DAY });
    }
    return new JobQueue(boss);
  }

  async sendTraining(data: TrainingJobData): Promise<void> {
    await this.boss.send(TRAINING_QUEUE, data, { retryLimit: 0 });
  }

  async sendMerge(data: MergeJobData): Promise<void> {
    await this.boss.send(MERGE_QUEUE, data, { retryLimit: 0 });
  }

  async workTraining(concurrency: number, handler: (data: TrainingJobData) => Promise<void>): Promise<void> {
    await this.boss.work<TrainingJobData>(
      TRAINING_QUEUE,
      { localConcurrency: concurrency, pollingIntervalSeconds: 0.5 },
      async ([job]) => handler(job!.data),
    );
  }

  async workMerge(handler: (data: MergeJobData) => Promise<void>): Promise<void> {
    await this.boss.work<MergeJobData>(MERGE_QUEUE, { pollingIntervalSeconds: 0.5 }, async ([job]) => handler(job!.data));
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: false, close: true, timeout: 2000 });
  }
}
