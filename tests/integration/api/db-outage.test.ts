import { readdir } from "node:fs/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createBackends } from "../../../src/backends/registry.js";
import { collect, demoIds, startTestApi, type TestApi, until } from "./harness.js";
import { startRestartablePostgres, type RestartableDatabase } from "./restartable-db.js";

const STALE_AFTER_MS = 5000;


// the test's own embedded PostgreSQL, stopped and started again under a running server and its worker
describe("PostgreSQL stopped and restarted under the server", () => {
  let db: RestartableDatabase;
  let api: TestApi;
  let modelId: string;
  let datasetId: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  const start = async (hp: string): Promise<string> => {
    const r = await api.gql<{ startTraining: { id: string } }>(
      `mutation { startTraining(input: { baseModelId: "${modelId}", datasetId: "${datasetId}", hyperparameters: ${hp} }) { id } }`,
    );
    expect(r.errors).toBeUndefined();
    return r.data!.startTraining.id;
  };
  const run = (id: string) => api.services.ctx.prisma.trainingRun.findUniqueOrThrow({ where: { id }, include: { metrics: true, checkpoints: true } });
  const ended = (id: string) => until("the run to end", async () => {
    const r = await run(id).catch(() => null);
    return r && ["SUCCEEDED", "FAILED", "CANCELLED", "INTERRUPTED"].includes(r.status) && r;
  }, 240_000);
  const outage = async (ms: number): Promise<void> => {
    await db.stop();
    await new Promise((r) => setTimeout(r, ms));
    await db.start();
  };

  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    db = await startRestartablePostgres();
    api = await startTestApi({
      backends: createBackends(),
      worker: true,
      demo: true,
      db,
      env: { TUNEGRAPH_HEARTBEAT_MS: "200", TUNEGRAPH_STALE_AFTER_MS: String(STALE_AFTER_MS), TUNEGRAPH_METRIC_FLUSH_MS: "100" },
    });
    ({ modelId, datasetId } = await demoIds(api));
  });
  afterAll(async () => {
    await api?.close();
    await db?.drop();
    process.off("unhandledRejection", onUnhandled);
  });
  // the process lives: nothing rejected unobserved (a Prisma P1001 from a checkpoint write used to)
  afterEach(() => {
    expect(unhandled).toEqual([]);
  });

  it("after a restart every event is delivered once (the listener reconnected twice: METRIC 1,1,2,2,...)", async () => {
    await outage(500);
    // the hub hears its own events through the database: wait until it does again, then past a second reconnect
    const hub = api.services.ctx.hub;
    let heard = 0;
    const off = hub.on((e) => {
      if (e.type === "cancel" && e.runId === "probe") heard++;
    });
    await until("the event listener to reconnect", async () => {
      await hub.publish({ type: "cancel", runId: "probe" });
      await new Promise((r) => setTimeout(r, 200));
      return heard > 0;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 2500));
    heard = 0;
    await hub.publish({ type: "cancel", runId: "probe" });
    await new Promise((r) => setTimeout(r, 500));
    off();
    expect(heard).toBe(1);

    const client = api.ws();
    const id = await start("{ maxSteps: 4, batchSize: 2, maxSeqLength: 48, loggingSteps: 1, saveSteps: 2, optim: \"adamw\" }");
    const { events, errors } = await collect<{ trainingProgress: { kind: string; metric: { step: number } | null } }>(
      client,
      "subscription ($id: ID!) { trainingProgress(runId: $id) { kind status metric { step } } }",
      { id },
    );
    await client.dispose();
    expect(errors).toEqual([]);
    expect(events.filter((e) => e.trainingProgress.kind === "METRIC").map((e) => e.trainingProgress.metric!.step)).toEqual([1, 2, 3, 4]);
  });

  it("an outage across checkpoints: the run waits, writes everything when the database is back and SUCCEEDS", async () => {
    const maxSteps = 40;
    const id = await start(`{ maxSteps: ${maxSteps}, batchSize: 1, maxSeqLength: 32, loggingSteps: 1, saveSteps: 1, optim: "adamw" }`);
    const { outDir } = await until("two metrics written", async () => {
      const r = await run(id);
      return r.metrics.length >= 2 && r;
    });
    const checkpointsOnDisk = async () => (await readdir(outDir).catch(() => [])).filter((f) => f.startsWith("checkpoint-")).length;
    const before = await checkpointsOnDisk();
    await db.stop();
    // the trainer goes on: two checkpoints saved while their rows cannot be written (or it ran out of steps)
    const stoppedAt = Date.now();
    while ((await checkpointsOnDisk()) < Math.min(before + 2, maxSteps) && Date.now() - stoppedAt < STALE_AFTER_MS / 2) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await checkpointsOnDisk()).toBeGreaterThanOrEqual(before + 1);
    // what a load balancer sees meanwhile: alive, not ready
    const probe = (p: string) => fetch(api.url.replace(/\/graphql$/, p)).then((r) => r.status);
    expect(await probe("/livez")).toBe(200);
    expect(await probe("/readyz")).toBe(503);
    await db.start();
    await until("ready again", async () => (await probe("/readyz")) === 200, 30_000);
    const done = await ended(id);
    expect(done.status, done.error ?? "").toBe("SUCCEEDED");
    // nothing lost: every metric and every checkpoint the trainer reported is stored
    expect(done.metrics.map((m) => m.step).sort((a, b) => a - b)).toEqual(Array.from({ length: maxSteps }, (_, i) => i + 1));
    expect(done.checkpoints.map((c) => c.step)).toContain(maxSteps);
  });

  it("an outage longer than the heartbeat's patience: the run ends INTERRUPTED and resumes to SUCCEEDED", async () => {
    // long enough to be training when the outage outlasts the patience; if it ends first, its last writes time out
    // the same way
    const id = await start("{ maxSteps: 200, batchSize: 1, maxSeqLength: 32, loggingSteps: 1, saveSteps: 2, optim: \"adamw\" }");
    await until("a checkpoint written", async () => (await run(id)).checkpoints.length > 0);
    await outage(STALE_AFTER_MS + 3000);
    const interrupted = await ended(id);
    expect(interrupted.status).toBe("INTERRUPTED");
    // the worker gave the run up: its trainer stopped (no step stored after the outage beyond those already trained)
    await new Promise((r) => setTimeout(r, 1000));
    const after = await run(id);
    expect(after.metrics.length).toBe(interrupted.metrics.length);

    const resumed = await api.gql(`mutation { resumeTraining(id: "${id}") { id status } }`);
    expect(resumed.errors).toBeUndefined();
    const again = await ended(id);
    expect(again.status, again.error ?? "").toBe("SUCCEEDED");
    expect(again.metrics.map((m) => m.step).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  }, 480_000);
});
