import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { builtCli } from "../../helpers/cli.js";
import { createTestDatabase, type TestDatabase } from "./test-db.js";

// Real processes from the built CLI: two API servers (no worker in them) and a separate worker, one database.
const PROGRESS = "subscription ($id: ID!) { trainingProgress(runId: $id) { kind status metric { step } checkpoint { step } } }";

interface Event {
  kind: string;
  status: string;
  metric: { step: number } | null;
  checkpoint: { step: number } | null;
}

describe("API processes and workers across processes", () => {
  let db: TestDatabase;
  let dataDir: string;
  const children: ChildProcess[] = [];

  const env = () => ({
    ...process.env,
    DATABASE_URL: db.url,
    TUNEGRAPH_DATA_DIR: dataDir,
    TUNEGRAPH_HEARTBEAT_MS: "200",
    TUNEGRAPH_STALE_AFTER_MS: "1500",
    TUNEGRAPH_LOG_LEVEL: "warn",
  });

  /** Start `tunegraph <args>` and wait for its first stdout line. */
  function start(args: string[]): Promise<{ child: ChildProcess; line: string }> {
    const child = spawn(process.execPath, [builtCli(), ...args], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    return new Promise((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        const nl = out.indexOf("\n");
        if (nl >= 0) resolve({ child, line: out.slice(0, nl) });
      });
      child.on("exit", (code) => reject(new Error(`tunegraph ${args.join(" ")} exited with ${code}: ${stderr}`)));
    });
  }

  async function api(args: string[]): Promise<string> {
    const { line } = await start(["serve", "--port", "0", ...args]);
    const m = /at (http:\/\/\S+)/.exec(line);
    if (!m) throw new Error(`no URL in "${line}"`);
    return m[1]!;
  }

  async function gql<T>(url: string, query: string): Promise<T> {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
    const body = (await res.json()) as { data?: T; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  }

  /** Subscribe to a run on `url`; `onEvent` may act on each event; resolves with all events when the run ends. */
  function follow(url: string, runId: string, onEvent: (e: Event) => void = () => {}): Promise<Event[]> {
    const client = createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket, retryAttempts: 0 });
    const events: Event[] = [];
    return new Promise((resolve, reject) => {
      client.subscribe<{ trainingProgress: Event }>(
        { query: PROGRESS, variables: { id: runId } },
        {
          next: (v) => {
            events.push(v.data!.trainingProgress);
            onEvent(v.data!.trainingProgress);
          },
          error: reject,
          complete: () => {
            void client.dispose();
            resolve(events);
          },
        },
      );
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    await chmod(dataDir, 0o755);
  }, 180_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("a worker killed mid-run leaves the run INTERRUPTED; another worker resumes it; events reach the other API process", async () => {
    const apiA = await api(["--no-worker"]);
    const apiB = await api(["--no-worker", "--no-demo"]);
    const worker1 = await start(["worker"]);
    expect(worker1.line).toMatch(/worker \d+ waiting for jobs/);

    const { models, datasets } = await gql<{ models: { id: string }[]; datasets: { id: string }[] }>(apiA, "{ models { id } datasets { id } }");
    const { startTraining } = await gql<{ startTraining: { id: string } }>(
      apiA,
      `mutation { startTraining(input: { baseModelId: "${models[0]!.id}", datasetId: "${datasets[0]!.id}", hyperparameters: { maxSteps: 10, batchSize: 1, maxSeqLength: 32, loggingSteps: 1, saveSteps: 2, optim: "adamw" } }) { id } }`,
    );
    const runId = startTraining.id;

    // the subscriber is on B; the job runs in the worker; the worker is killed after its second checkpoint
    let checkpoints = 0;
    const first = await follow(apiB, runId, (e) => {
      if (e.kind === "CHECKPOINT" && ++checkpoints === 2) worker1.child.kill("SIGKILL");
    });
    const steps = first.filter((e) => e.kind === "METRIC").map((e) => e.metric!.step);
    expect(steps.length).toBeGreaterThanOrEqual(4);
    expect(steps).toEqual(steps.map((_, i) => i + 1));
    expect(first.at(-1)).toMatchObject({ kind: "STATUS", status: "INTERRUPTED" });

    const { trainingRun } = await gql<{ trainingRun: { status: string; checkpoints: { step: number }[] } }>(
      apiA,
      `{ trainingRun(id: "${runId}") { status checkpoints { step } } }`,
    );
    expect(trainingRun.status).toBe("INTERRUPTED");
    const lastCheckpoint = trainingRun.checkpoints.at(-1)!.step;
    expect(lastCheckpoint).toBeGreaterThanOrEqual(4);

    await start(["worker"]);
    await gql(apiB, `mutation { resumeTraining(id: "${runId}") { status } }`);
    const second = await follow(apiA, runId);
    expect(second.at(-1)).toMatchObject({ kind: "STATUS", status: "SUCCEEDED" });
    const resumedSteps = second.filter((e) => e.kind === "METRIC").map((e) => e.metric!.step);
    expect(resumedSteps.at(-1)).toBe(10);
    expect(resumedSteps[0]).toBeLessThanOrEqual(lastCheckpoint + 1);

    const done = await gql<{ trainingRun: { status: string; metrics: { step: number }[]; logs: { message: string }[]; adapter: { id: string } } }>(
      apiB,
      `{ trainingRun(id: "${runId}") { status metrics { step } logs { message } adapter { id } } }`,
    );
    expect(done.trainingRun.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(done.trainingRun.logs.map((l) => l.message)).toContain(`resuming from checkpoint at step ${lastCheckpoint}`);
    expect(done.trainingRun.adapter).not.toBeNull();
  });
});
