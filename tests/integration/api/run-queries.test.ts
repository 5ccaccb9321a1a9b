import { PrismaPg } from "@prisma/adapter-pg";
import { graphql } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../../../src/generated/prisma/client.js";
import { apiContext } from "../../../src/resolvers/context.js";
import { apiSchema } from "../../../src/server/schema.js";
import { noBackends, startTestApi, type TestApi } from "./harness.js";

// Ten runs with different numbers of metrics, logs and checkpoints; runs 4 and 5 share a createdAt (a cursor tie).
const RUNS = 10;
const metricCount = (i: number) => 3 + i;
const logCount = (i: number) => 1 + i;
const checkpointCount = (i: number) => i % 3;

const BATCH_QUERY = (first: number) =>
  `{ trainingRuns(first: ${first}) { nodes { id metrics(last: 5) { step } logs(last: 3) { message } checkpoints { step } } } }`;
const RELATIONS_QUERY = (first: number) =>
  `{ trainingRuns(first: ${first}) { nodes { id baseModel { name } dataset { name } adapter { name run { id } } initAdapter { name } } } }`;

type BatchNode = { id: string; metrics: { step: number }[]; logs: { message: string }[]; checkpoints: { step: number }[] };

describe("reading training runs", () => {
  let api: TestApi;
  let counted: PrismaClient;
  let queries = 0;
  /** run ids, newest first (the API's order) */
  let ids: string[];
  const indexOf = new Map<string, number>();

  beforeAll(async () => {
    // a cost limit that lets the page-size checks, not the cost check, answer
    api = await startTestApi({ backends: noBackends, env: { TUNEGRAPH_MAX_COST: "1000000" } });
    const db = api.services.ctx.prisma;
    const model = await db.baseModel.create({
      data: { name: "m", path: "/nowhere/m", architecture: "PhiForCausalLM", parameterCount: 1n, config: {} },
    });
    const dataset = await db.dataset.create({ data: { name: "d", path: "/nowhere/d", format: "oasst-jsonl", conversationCount: 1, skipped: {} } });
    const seeded: { id: string; createdAt: Date }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, i === 5 ? 4 : i));
      const run = await db.trainingRun.create({
        data: {
          status: "SUCCEEDED",
          baseModelId: model.id,
          datasetId: dataset.id,
          hyperparameters: {},
          dataOptions: {},
          maxSteps: metricCount(i),
          outDir: `/nowhere/run-${i}`,
          createdAt,
        },
      });
      indexOf.set(run.id, i);
      seeded.push(run);
      const steps = Array.from({ length: metricCount(i) }, (_, k) => k + 1);
      await db.trainingMetric.createMany({
        data: steps.map((step) => ({ runId: run.id, step, loss: 1 / step, gradNorm: 1, learningRate: 1e-4, epoch: 0, tokensPerSecond: 1 })),
      });
      for (let k = 0; k < logCount(i); k++) await db.trainingLog.create({ data: { runId: run.id, level: "INFO", message: `run ${i} line ${k}` } });
      await db.checkpoint.createMany({
        data: Array.from({ length: checkpointCount(i) }, (_, k) => ({ runId: run.id, step: k + 1, path: `/nowhere/run-${i}/checkpoint-${k + 1}` })),
      });
      if (i % 2 === 0) {
        await db.adapter.create({
          data: { name: `a${i}`, baseModelId: model.id, runId: run.id, r: 8, loraAlpha: 16, loraDropout: 0, targetModules: ["q_proj"], path: "/nowhere", sizeBytes: 1n },
        });
      }
    }
    ids = seeded
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .map((r) => r.id);
    const client = new PrismaClient({ adapter: new PrismaPg({ connectionString: api.config.databaseUrl! }), log: [{ emit: "event", level: "query" }] });
    client.$on("query", () => queries++);
    counted = client;
  });
  afterAll(async () => {
    await counted?.$disconnect();
    await api?.close();
  });

  /** Run a query through the API's schema and resolvers over a client that counts the SQL statements it sends. */
  async function countQueries(source: string): Promise<{ data: unknown; queries: number }> {
    queries = 0;
    const result = await graphql({ schema: await apiSchema(), source, contextValue: apiContext({ ...api.services.ctx, prisma: counted }, true) });
    expect(result.errors).toBeUndefined();
    return { data: result.data, queries };
  }

  const code = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;

  it("reads a page of runs with their metrics, logs and checkpoints in a constant number of queries", async () => {
    const one = await countQueries(BATCH_QUERY(1));
    const ten = await countQueries(BATCH_QUERY(10));
    // the page, its totalCount, then one each for metrics, logs and checkpoints
    expect(ten.queries).toBe(5);
    expect(one.queries).toBe(ten.queries);

    const nodes = (ten.data as { trainingRuns: { nodes: BatchNode[] } }).trainingRuns.nodes;
    expect(nodes.map((n) => n.id)).toEqual(ids);
    for (const n of nodes) {
      const i = indexOf.get(n.id)!;
      const steps = Array.from({ length: metricCount(i) }, (_, k) => k + 1);
      expect(n.metrics.map((m) => m.step)).toEqual(steps.slice(-5));
      const lines = Array.from({ length: logCount(i) }, (_, k) => `run ${i} line ${k}`);
      expect(n.logs.map((l) => l.message)).toEqual(lines.slice(-3));
      expect(n.checkpoints.map((c) => c.step)).toEqual(Array.from({ length: checkpointCount(i) }, (_, k) => k + 1));
    }
    // the real server answers the same
    const http = await api.gql(BATCH_QUERY(10));
    expect(http.errors).toBeUndefined();
    expect(http.data).toEqual(ten.data);
  });

  it("reads the runs' models, datasets and adapters in a constant number of queries", async () => {
    // two: the newest run has no adapter, the second has one
    const two = await countQueries(RELATIONS_QUERY(2));
    const ten = await countQueries(RELATIONS_QUERY(10));
    // the page, its totalCount, base models, datasets, adapters by run, the adapters' runs (no initAdapter: no query)
    expect(ten.queries).toBe(6);
    expect(two.queries).toBe(ten.queries);
    type Node = { id: string; baseModel: { name: string }; dataset: { name: string }; adapter: { name: string; run: { id: string } } | null };
    for (const n of (ten.data as { trainingRuns: { nodes: Node[] } }).trainingRuns.nodes) {
      const i = indexOf.get(n.id)!;
      expect(n).toMatchObject({ baseModel: { name: "m" }, dataset: { name: "d" } });
      expect(n.adapter).toEqual(i % 2 === 0 ? { name: `a${i}`, run: { id: n.id } } : null);
    }
  });

  it("keeps sinceStep and last apart per field: aliases with other arguments get their own rows", async () => {
    const r = await api.gql<{ trainingRun: { a: { step: number }[]; b: { step: number }[]; c: { step: number }[] } }>(
      `{ trainingRun(id: "${ids[0]}") { a: metrics(sinceStep: 9, last: 2) { step } b: metrics(sinceStep: 9) { step } c: metrics { step } } }`,
    );
    expect(r.errors).toBeUndefined();
    // ids[0] is run 9: steps 1..12
    expect(r.data!.trainingRun.a.map((m) => m.step)).toEqual([11, 12]);
    expect(r.data!.trainingRun.b.map((m) => m.step)).toEqual([10, 11, 12]);
    expect(r.data!.trainingRun.c.map((m) => m.step)).toEqual(Array.from({ length: 12 }, (_, k) => k + 1));
  });

  it("rejects negative and absurd page sizes and steps, naming the argument", async () => {
    const run = (field: string) => api.gql(`{ trainingRun(id: "${ids[0]}") { ${field} } }`);
    const cases: [string, RegExp][] = [
      ["metrics(last: -1) { step }", /^metrics: last must be between 1 and 10000, got -1$/],
      ["metrics(last: 0) { step }", /^metrics: last must be between 1 and 10000, got 0$/],
      ["metrics(last: 10001) { step }", /^metrics: last must be between 1 and 10000, got 10001$/],
      ["metrics(sinceStep: -1) { step }", /^metrics: sinceStep must be 0 or more, got -1$/],
      ["logs(last: -3) { message }", /^logs: last must be between 1 and 1000, got -3$/],
      ["logs(last: 1001) { message }", /^logs: last must be between 1 and 1000, got 1001$/],
    ];
    for (const [field, message] of cases) {
      const r = await run(field);
      expect(code(r), field).toBe("BAD_USER_INPUT");
      expect(r.errors, field).toHaveLength(1);
      expect(r.errors![0]!.message, field).toMatch(message);
    }
    for (const [query, message] of [
      ["{ trainingRuns(first: -1) { totalCount } }", /^first must be between 1 and 100, got -1$/],
      ["{ trainingRuns(first: 101) { totalCount } }", /^first must be between 1 and 100, got 101$/],
      ["{ generations(last: -5) { id } }", /^last must be between 1 and 100, got -5$/],
    ] as const) {
      const r = await api.gql(query);
      expect(code(r), query).toBe("BAD_USER_INPUT");
      expect(r.errors![0]!.message, query).toMatch(message);
    }
    // a bad argument fails its own field only
    const mixed = await api.gql<{ trainingRun: { metrics: { step: number }[] } | null }>(
      `{ trainingRun(id: "${ids[0]}") { good: logs(last: 1) { message } bad: logs(last: 0) { message } } }`,
    );
    expect(mixed.errors).toHaveLength(1);
    expect(mixed.errors![0]!.message).toMatch(/^logs: last/);
  });

  it("pages with cursors that survive ties and deleted runs, and refuses cursors that are not ours", async () => {
    type Page = { trainingRuns: { nodes: { id: string }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } };
    const page = (after: string | null) =>
      api.gql<Page>("query ($after: String) { trainingRuns(first: 3, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } } }", { after });
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const r: Awaited<ReturnType<typeof page>> = await page(after);
      expect(r.errors).toBeUndefined();
      seen.push(...r.data!.trainingRuns.nodes.map((n) => n.id));
      if (!r.data!.trainingRuns.pageInfo.hasNextPage) break;
      after = r.data!.trainingRuns.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids);

    // the cursor of a page whose last run is then deleted still leads to the next page
    const first = await page(null);
    const cursor = first.data!.trainingRuns.pageInfo.endCursor!;
    await api.services.ctx.prisma.trainingRun.delete({ where: { id: ids[2]! } });
    const next = await page(cursor);
    expect(next.data!.trainingRuns.nodes.map((n) => n.id)).toEqual(ids.slice(3, 6));

    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    for (const bad of ["garbage", b64("run:not-a-run"), b64(`user:${ids[0]}`), b64(`run:2026-13-45T99:99:99.999Z/${ids[0]}`), ""]) {
      const r = await page(bad);
      expect(code(r), bad).toBe("BAD_USER_INPUT");
      expect(r.errors![0]!.message, bad).toMatch(/^after: not a cursor from pageInfo\.endCursor/);
    }
  });
});
