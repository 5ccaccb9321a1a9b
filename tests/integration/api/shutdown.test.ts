import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { createBackends } from "../../../src/backends/registry.js";
import { openDatabase } from "../../../src/db/database.js";
import { loadConfig } from "../../../src/services/config.js";
import { initModel } from "../../../src/services/models.js";
import { startServices } from "../../../src/services/start.js";
import { startTraining } from "../../../src/services/training.js";

// the default install: no DATABASE_URL, so closing the services stops the embedded PostgreSQL itself
describe("shutdown while training, on the embedded database", () => {
  let dataDir: string | undefined;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("interrupts a run in the middle of a step and waits for its job to end before the database stops", async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    await chmod(dataDir, 0o755);
    const logged: { level: number; msg: string }[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => { logged.push(JSON.parse(String(chunk))); done(); } });
    const config = loadConfig({ TUNEGRAPH_DATA_DIR: dataDir });
    const services = await startServices(config, createBackends(), { worker: true, demo: true, log: pino({ level: "warn" }, sink) });
    const { ctx } = services;
    // steps of seconds, so that the shutdown lands inside one (the trainer stops only at a step boundary)
    const model = await initModel(ctx, "tiny", "slow", { hidden_size: 512, intermediate_size: 2048, num_hidden_layers: 8, num_attention_heads: 8 }, 1);
    const dataset = (await ctx.prisma.dataset.findFirstOrThrow()).id;
    const run = await startTraining(ctx, { baseModelId: model.id, datasetId: dataset, hyperparameters: { maxSteps: 100, batchSize: 4, maxSeqLength: 256, loggingSteps: 1, saveSteps: 100 } });
    const end = Date.now() + 240_000;
    while ((await ctx.prisma.trainingMetric.count({ where: { runId: run.id } })) < 1) {
      if (Date.now() > end) throw new Error("no metrics written");
      await new Promise((r) => setTimeout(r, 100));
    }
    await services.close(); // interrupt, wait for the job, stop the queue, close (and stop) the database
    // a job left running would fail when its step ends (seconds): give it that long
    await new Promise((r) => setTimeout(r, 10_000));
    // the job wrote its last metrics and ended while the database ran: nothing failed for want of it
    expect(logged.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
    const db = await openDatabase({ dataDir });
    try {
      expect((await db.prisma.trainingRun.findUniqueOrThrow({ where: { id: run.id } })).status).toBe("INTERRUPTED");
    } finally {
      await db.close();
    }
  }, 300_000);
});
