import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepInterrupted } from "../../../src/services/run-status.js";
import { noBackends, startTestApi, type TestApi } from "./harness.js";

describe("jobs whose worker stopped", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ backends: noBackends, demo: true, env: { TUNEGRAPH_STALE_AFTER_MS: "1000" } });
  });
  afterAll(async () => {
    await api?.close();
  });

  it("a silent RUNNING run becomes INTERRUPTED, a beating one stays; a silent merge becomes FAILED", async () => {
    const { ctx } = api.services;
    const model = await ctx.prisma.baseModel.findFirstOrThrow();
    const dataset = await ctx.prisma.dataset.findFirstOrThrow();
    const run = (heartbeatAt: Date) =>
      ctx.prisma.trainingRun.create({
        data: { baseModelId: model.id, datasetId: dataset.id, hyperparameters: {}, dataOptions: {}, maxSteps: 5, outDir: "/x", status: "RUNNING", heartbeatAt },
      });
    const silent = await run(new Date(Date.now() - 60_000));
    const alive = await run(new Date());
    const adapter = await ctx.prisma.adapter.create({
      data: { name: "a", baseModelId: model.id, r: 8, loraAlpha: 16, loraDropout: 0, targetModules: ["q_proj"], path: "/a", sizeBytes: 1n },
    });
    const merge = await ctx.prisma.mergedModel.create({ data: { adapterId: adapter.id, baseModelId: model.id, precision: "FP32", path: "/m", status: "RUNNING" } });
    const beating = await ctx.prisma.mergedModel.create({ data: { adapterId: adapter.id, baseModelId: model.id, precision: "INT4", path: "/n", status: "RUNNING" } });

    // what the heartbeats do while the periodic sweep (every 500 ms here) runs: a merge's moves its updatedAt
    // (Prisma queries run only once awaited or then'd)
    const beat = setInterval(() => {
      ctx.prisma.mergedModel.updateMany({ where: { id: beating.id, status: "RUNNING" }, data: { status: "RUNNING" } }).catch(() => undefined);
      ctx.prisma.trainingRun.update({ where: { id: alive.id }, data: { heartbeatAt: new Date() } }).catch(() => undefined);
    }, 200);
    await new Promise((r) => setTimeout(r, 2000));
    await sweepInterrupted(ctx);
    clearInterval(beat);

    const status = async (id: string) => (await ctx.prisma.trainingRun.findUniqueOrThrow({ where: { id } })).status;
    expect(await status(silent.id)).toBe("INTERRUPTED");
    expect(await status(alive.id)).toBe("RUNNING");
    const merged = await ctx.prisma.mergedModel.findUniqueOrThrow({ where: { id: merge.id } });
    expect(merged).toMatchObject({ status: "FAILED", error: expect.stringMatching(/merge the adapter again/) });
    expect((await ctx.prisma.mergedModel.findUniqueOrThrow({ where: { id: beating.id } })).status).toBe("RUNNING");
  });
});
