import { createWriteStream } from "node:fs";
import { cp, open, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createBackends } from "../../../src/backends/registry.js";
import { startTestApi, type TestApi } from "./harness.js";

// files that once crashed the server or left a run unreadable, given to the real API
const RUN = `{ status error currentStep logs { level message } }`;
const TINY_HP = "{ maxSteps: 2, batchSize: 2, maxSeqLength: 48, loggingSteps: 1, saveSteps: 2, optim: \"adamw\" }";

describe("hostile files over the API", () => {
  let api: TestApi;
  let datasetId: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    api = await startTestApi({ backends: createBackends(), worker: true, demo: true });
    datasetId = (await api.gql<{ datasets: { id: string }[] }>("{ datasets { id } }")).data!.datasets[0]!.id;
  });
  afterAll(async () => {
    await api?.close();
    process.off("unhandledRejection", onUnhandled);
  });
  afterEach(() => {
    expect(unhandled).toEqual([]);
  });

  it("a gzip bomb of zeros without a newline is a BAD_USER_INPUT naming the file and line, and the server lives", async () => {
    // the audit's file: 600 MiB of zeros in ~600 KB, one line past V8's longest string (readline threw RangeError
    // outside any promise, which killed the process); now reading stops at the 64 MiB row limit
    const mib = Buffer.alloc(2 ** 20);
    const zeros = Readable.from((function* () { for (let i = 0; i < 600; i++) yield mib; })());
    await pipeline(zeros, createGzip(), createWriteStream(path.join(api.dataDir, "zeros.jsonl.gz")));
    const r = await api.gql("mutation { registerDataset(name: \"zeros\", path: \"zeros.jsonl.gz\") { id } }");
    expect(r.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(r.errors![0]!.message).toMatch(/zeros\.jsonl\.gz line 1: the line is longer than 64 MiB, the limit for one row/);
    expect((await api.gql<{ health: { ok: boolean } }>("{ health { ok } }")).data!.health.ok).toBe(true);
  });

  /** The demo model's files under a new name, with `edit` applied, registered over the API. */
  const modelLike = async (name: string, edit: (dir: string) => Promise<void>): Promise<string> => {
    const dir = path.join(api.dataDir, "models", name);
    await cp(path.join(api.dataDir, "models", "demo-tiny"), dir, { recursive: true });
    await edit(dir);
    const r = await api.gql<{ registerModel: { id: string } }>(`mutation { registerModel(name: "${name}", path: "models/${name}") { id } }`);
    expect(r.errors).toBeUndefined();
    return r.data!.registerModel.id;
  };
  const train = async (modelId: string, hp = TINY_HP): Promise<string> => {
    const r = await api.gql<{ startTraining: { id: string } }>(
      `mutation { startTraining(input: { baseModelId: "${modelId}", datasetId: "${datasetId}", hyperparameters: ${hp} }) { id } }`,
    );
    expect(r.errors).toBeUndefined();
    return r.data!.startTraining.id;
  };
  const ended = async (id: string) => {
    const end = Date.now() + 120_000;
    for (;;) {
      const r = await api.gql<{ trainingRun: { status: string; error: string | null; logs: { level: string; message: string }[] } }>(
        `{ trainingRun(id: "${id}") ${RUN} }`,
      );
      const run = r.data?.trainingRun;
      if (run && !["QUEUED", "RUNNING"].includes(run.status)) return run;
      if (Date.now() > end) throw new Error(`run ${id} did not end: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  };

  it("a tokenizer.json with NUL bytes: the run FAILS with the real error (PostgreSQL refused the NUL, 22021)", async () => {
    const modelId = await modelLike("nul-tokenizer", (dir) => writeFile(path.join(dir, "tokenizer.json"), "\u0000\u0001garbage"));
    const run = await ended(await train(modelId));
    expect(run.status).toBe("FAILED");
    // stored with the NUL as U+FFFD
    expect(run.error).toMatch(/nul-tokenizer\/tokenizer\.json: invalid JSON .*\uFFFD\u0001garbage/);
    expect(run.error).not.toContain("\u0000");
    expect(run.logs.at(-1)).toEqual({ level: "ERROR", message: run.error });
  });

  it("NaN weights: every update is skipped, the run FAILS after maxSkippedSteps of them and stays readable, the NaN served as null", async () => {
    const modelId = await modelLike("nan-weights", async (dir) => {
      // every float after the safetensors header becomes NaN (F32 0x7fc00000)
      const fh = await open(path.join(dir, "model.safetensors"), "r+");
      try {
        const prefix = Buffer.alloc(8);
        await fh.read(prefix, 0, 8, 0);
        const start = 8 + Number(prefix.readBigUInt64LE());
        const { size } = await fh.stat();
        const nan = Buffer.alloc(size - start);
        for (let i = 0; i < nan.length; i += 4) nan.writeFloatLE(NaN, i);
        await fh.write(nan, 0, nan.length, start);
      } finally {
        await fh.close();
      }
    });
    const id = await train(modelId, "{ maxSteps: 20, maxSkippedSteps: 3, batchSize: 2, maxSeqLength: 48, loggingSteps: 1, saveSteps: 20, optim: \"adamw\" }");
    const run = await ended(id);
    expect(run.status).toBe("FAILED");
    expect(run.error).toMatch(/^loss is not finite \(NaN\) at steps 1-3: 3 updates skipped in a row: training stopped/);
    expect(run.logs.filter((l) => l.level === "WARN").map((l) => l.message)).toEqual(
      [1, 2, 3].map((step) => `step ${step}: loss is not finite (NaN): update skipped (${step} in a row)`),
    );
    // used to be data: null, INTERNAL_SERVER_ERROR (GraphQL's Float cannot carry NaN)
    const read = await api.gql<{ trainingRun: { latestLoss: number | null; metrics: { step: number; loss: number | null; gradNorm: number | null }[]; summary: unknown } }>(
      `{ trainingRun(id: "${id}") { latestLoss metrics { step loss gradNorm learningRate } summary { trainLoss } } }`,
    );
    expect(read.errors).toBeUndefined();
    const skippedStep = (step: number) => ({ step, loss: null, gradNorm: null });
    expect(read.data!.trainingRun).toMatchObject({ latestLoss: null, metrics: [1, 2, 3].map(skippedStep), summary: null });
    // the NaN itself is what the database holds
    const stored = await api.services.ctx.prisma.trainingMetric.findMany({ where: { runId: id }, orderBy: { step: "asc" } });
    expect(stored.map((m) => m.loss)).toEqual([NaN, NaN, NaN]);
  });
});
