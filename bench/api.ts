/**
 * `npm run bench:api [-- --quick]`: the API's own cost.
 *  - p50/p99 latency of a trivial query (`{ models { id } }`, over HTTP) while a training run is going in the same
 *    process (target p99 < 50 ms: the trainer's worker thread leaves the event loop free);
 *  - one chat request through GraphQL `generate` and through the OpenAI-compatible /v1/chat/completions (HTTP, each
 *    storing the Generation) against the engine's own generate on the same exported model, interleaved: tokens/s,
 *    ratios to the engine, and the latency each API adds per request.
 * Uses the embedded PostgreSQL (or DATABASE_URL) and the demo model in a temporary data directory.
 * Prints tables; writes bench/results/api-<date>[-quick].json and prints the results as JSON on its last line.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { createBackends } from "../src/backends/registry.js";
import { createScratchDatabase } from "../src/db/scratch.js";
import { startApiServer } from "../src/server/app.js";
import { loadConfig } from "../src/services/config.js";
import { baseExportDir } from "../src/services/generations.js";
import { startServices } from "../src/services/start.js";
import { printTable, writeResults } from "./lib/report.js";
import { summarize } from "./lib/stats.js";

const quick = process.argv.includes("--quick");
// long enough for the trainer to take several steps meanwhile (a tiny step is ~0.1–0.5 s)
const MEASURE_MS = quick ? 5_000 : 30_000;
const GENERATIONS = quick ? 3 : 10;
const NEW_TOKENS = quick ? 16 : 64;
const PROMPT = "What is a LoRA adapter?";

const dataDir = await mkdtemp(path.join(os.tmpdir(), "tg-bench-api-"));
await chmod(dataDir, 0o755);
// DATABASE_URL's server keeps state between runs: a database of our own there (else the embedded one in dataDir)
const scratch = process.env.DATABASE_URL ? await createScratchDatabase(process.env.DATABASE_URL, "tg_bench") : null;
const config = loadConfig({ ...process.env, ...(scratch ? { DATABASE_URL: scratch.url } : {}), TUNEGRAPH_DATA_DIR: dataDir, TUNEGRAPH_PORT: "0", TUNEGRAPH_ROOTS: dataDir });
const log = pino({ level: "warn" });
const backends = createBackends({ onnx: { maxNewTokens: config.limits.maxNewTokens } });
const services = await startServices(config, backends, { worker: true, demo: true, log });
const server = await startApiServer(services.ctx, log);

async function gql<T>(query: string): Promise<T> {
  const res = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data!;
}

try {
  const { models, datasets } = await gql<{ models: { id: string }[]; datasets: { id: string }[] }>("{ models { id } datasets { id } }");
  const modelId = models[0]!.id;

  // 1. latency while training
  const { startTraining } = await gql<{ startTraining: { id: string } }>(
    `mutation { startTraining(input: { baseModelId: "${modelId}", datasetId: "${datasets[0]!.id}", hyperparameters: { maxSteps: 100000, batchSize: 2, maxSeqLength: 64, loggingSteps: 1, saveSteps: 100000 } }) { id } }`,
  );
  const runId = startTraining.id;
  const stepOf = async () => (await gql<{ trainingRun: { status: string; currentStep: number; error: string | null } }>(`{ trainingRun(id: "${runId}") { status currentStep error } }`)).trainingRun;
  for (let s = await stepOf(); s.currentStep < 1; s = await stepOf()) {
    if (s.status !== "QUEUED" && s.status !== "RUNNING") throw new Error(`training ${s.status} before the measurement: ${s.error ?? "no error recorded"}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const stepBefore = (await stepOf()).currentStep;
  const latencies: number[] = [];
  for (const end = performance.now() + MEASURE_MS; performance.now() < end; ) {
    const t = performance.now();
    await gql("{ models { id } }");
    latencies.push(performance.now() - t);
  }
  const after = await stepOf();
  await gql(`mutation { cancelTraining(id: "${runId}") { id } }`);
  const lat = summarize(latencies);
  const sorted = [...latencies].sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
  const latency = { queries: latencies.length, seconds: MEASURE_MS / 1000, p50Ms: lat.median, p99Ms: p99, maxMs: sorted.at(-1)!, trainingSteps: after.currentStep - stepBefore, trainingRunning: after.status === "RUNNING" };
  printTable(`query latency while training (${latencies.length} sequential \`{ models { id } }\` over HTTP)`, ["p50 ms", "p99 ms", "max ms", "train steps meanwhile", "target p99"], [
    [latency.p50Ms, latency.p99Ms, latency.maxMs, String(latency.trainingSteps), "< 50 ms"],
  ]);

  // 2. the same chat request three ways, interleaved round by round: the engine directly, GraphQL `generate`, and
  // /v1/chat/completions (each API call stores a Generation); the base model's fp32 export is made by the warm-up
  const messages = [{ role: "user" as const, content: PROMPT }];
  const graphqlRequest = `{ generate(input: { modelId: "${modelId}", messages: [{ role: "user", content: "${PROMPT}" }], maxNewTokens: ${NEW_TOKENS} }) { completionTokens } }`;
  const chat = async (): Promise<number> => {
    const res = await fetch(server.url.replace(/\/graphql$/, "/v1/chat/completions"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: modelId, messages, max_tokens: NEW_TOKENS, temperature: 0 }),
    });
    const body = (await res.json()) as { usage?: { completion_tokens: number }; error?: { message: string } };
    if (!body.usage) throw new Error(`/v1/chat/completions: ${body.error?.message ?? res.status}`);
    return body.usage.completion_tokens;
  };
  await gql(graphqlRequest);
  await chat();
  // the export `generate` made of the base model above: the engine alone on the same files
  const engine = await (await backends.inference()).load(baseExportDir(services.ctx, modelId));
  const paths = {
    engine: async () => (await engine.generate({ messages, maxNewTokens: NEW_TOKENS })).completionTokens,
    graphql: async () => (await gql<{ generate: { completionTokens: number } }>(graphqlRequest)).generate.completionTokens,
    openai: chat,
  };
  const totals = { engine: { tokens: 0, ms: 0 }, graphql: { tokens: 0, ms: 0 }, openai: { tokens: 0, ms: 0 } };
  for (let i = 0; i < GENERATIONS; i++) {
    for (const [name, run] of Object.entries(paths) as [keyof typeof paths, () => Promise<number>][]) {
      const t = performance.now();
      totals[name].tokens += await run();
      totals[name].ms += performance.now() - t;
    }
  }
  const tps = (p: keyof typeof totals) => totals[p].tokens / (totals[p].ms / 1000);
  const perRequest = (p: keyof typeof totals) => totals[p].ms / GENERATIONS;
  const generate = {
    generations: GENERATIONS,
    newTokens: NEW_TOKENS,
    apiTokensPerSecond: tps("graphql"),
    openaiTokensPerSecond: tps("openai"),
    engineTokensPerSecond: tps("engine"),
    ratio: tps("graphql") / tps("engine"),
    openaiRatio: tps("openai") / tps("engine"),
    engineMsPerRequest: perRequest("engine"),
    graphqlAddedMs: perRequest("graphql") - perRequest("engine"),
    openaiAddedMs: perRequest("openai") - perRequest("engine"),
  };

  printTable(`one chat request, tiny demo model, ${GENERATIONS} x ${NEW_TOKENS} tokens, greedy, interleaved`, ["path", "tokens/s", "ratio to engine", "ms / request", "added ms / request"], [
    ["engine (LoadedModel.generate)", generate.engineTokensPerSecond, 1, generate.engineMsPerRequest, 0],
    ["GraphQL generate (HTTP, stored)", generate.apiTokensPerSecond, generate.ratio, perRequest("graphql"), generate.graphqlAddedMs],
    ["/v1/chat/completions (HTTP, stored)", generate.openaiTokensPerSecond, generate.openaiRatio, perRequest("openai"), generate.openaiAddedMs],
  ]);
  const results = { quick, latency, generate };
  const file = await writeResults(`api-${new Date().toISOString().slice(0, 10)}${quick ? "-quick" : ""}`, results);
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)}\n${JSON.stringify(results)}\n`);
} finally {
  await server.close();
  await services.close();
  await scratch?.drop();
  await rm(dataDir, { recursive: true, force: true });
}
