import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobQueue, TRAINING_QUEUE } from "../../../src/services/queue.js";
import { UserError } from "../../../src/model/errors.js";
import { createTestDatabase, type TestDatabase } from "./test-db.js";

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

const jobStates = (url: string) =>
  sql<{ runId: string; state: string; message: string | null }>(
    url,
    `SELECT data->>'runId' AS "runId", state, output->>'message' AS message FROM pgboss.job WHERE name = '${TRAINING_QUEUE}' ORDER BY data->>'runId'`,
  );

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the job queue", () => {
  let db: TestDatabase;
  const logged: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  beforeAll(async () => {
    db = await createTestDatabase();
    process.on("unhandledRejection", onUnhandled);
  });
  afterAll(async () => {
    process.off("unhandledRejection", onUnhandled);
    await db?.drop();
  });

  it("records each job's end: completed, failed with the handler's message, or failed by a stop that came first", async () => {
    const queue = await JobQueue.start(db.url, (msg) => logged.push(msg));
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    await queue.workTraining(2, async ({ runId }) => {
      started.push(runId);
      if (runId === "b-fails") throw new Error("no such dataset");
      if (runId === "c-slow") await slow;
    });
    for (const runId of ["a-ok", "b-fails", "c-slow"]) await queue.sendTraining({ runId, resume: false });
    await until(async () => started.includes("c-slow") && (await jobStates(db.url)).filter((j) => j.state !== "active").length === 2);
    await queue.stop();
    // the slow handler ends after the queue stopped: nothing is written for it, nothing fails
    release();
    await new Promise((r) => setTimeout(r, 200));

    expect(await jobStates(db.url)).toEqual([
      { runId: "a-ok", state: "completed", message: null },
      { runId: "b-fails", state: "failed", message: "no such dataset" },
      { runId: "c-slow", state: "failed", message: "the worker shut down" },
    ]);
    expect(logged).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it("a database outage when a job ends is logged, not an unhandled rejection, and the loop goes on", async () => {
    const seen: string[] = [];
    const queue = await JobQueue.start(db.url, (msg) => seen.push(msg));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    await queue.workTraining(1, async ({ runId }) => {
      started.push(runId);
      if (runId === "d-outage") await held;
    });
    await queue.sendTraining({ runId: "d-outage", resume: false });
    await until(async () => started.includes("d-outage"));
    // the outage: no new connections, and the queue's open ones cut
    const dbName = new URL(db.url).pathname.slice(1);
    const adminUrl = new URL(db.url);
    adminUrl.pathname = "/postgres";
    const admin = new pg.Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName}' AND application_name = 'tunegraph-jobs'`);
    release();
    await until(async () => seen.some((m) => m.startsWith("could not record the end of training job")));
    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
    await admin.end();
    // back: the same loop takes the next job
    await queue.sendTraining({ runId: "e-after", resume: false });
    await until(async () => started.includes("e-after"));
    await queue.stop();
    expect(unhandled).toEqual([]);
  });

  it("refuses a queue schema made by a newer pg-boss, naming the schema and what to do", async () => {
    await sql(db.url, "UPDATE pgboss.version SET version = 46");
    const err = await JobQueue.start(db.url, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/schema "pgboss" was made by a newer pg-boss \(schema 46; this version uses \d+\).*DROP SCHEMA pgboss CASCADE/);
  });
});
