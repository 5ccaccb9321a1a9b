import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collect, demoServer, until } from "./harness.js";

interface Eval {
  step: number;
  evalLoss: number;
  perplexity: number;
  evalTokens: number;
}

const EVAL_FIELDS = "step evalLoss perplexity evalTokens evalRuntime evalSamplesPerSecond epoch";

describe("evaluation through the API", () => {
  const demo = demoServer();

  const start = (extra: string, hp: string) =>
    demo.api.gql<{ startTraining: { id: string } }>(
      `mutation { startTraining(input: { baseModelId: "${demo.modelId}", datasetId: "${demo.datasetId}", ${extra} hyperparameters: ${hp} }) { id } }`,
    );

  it("a run with an eval dataset: EVAL events live, every evaluation stored, the last in the summary and in trainer_state.json", async () => {
    const r = await start(`evalDatasetId: "${demo.datasetId}",`, `{ maxSteps: 4, batchSize: 2, maxSeqLength: 48, loggingSteps: 1, saveSteps: 2, optim: "adamw" }`);
    expect(r.errors).toBeUndefined();
    const id = r.data!.startTraining.id;
    const client = demo.api.ws();
    const { events, errors } = await collect<{ trainingProgress: { kind: string; eval: Eval | null; evalMetrics: Eval[] | null } }>(
      client,
      `subscription ($id: ID!) { trainingProgress(runId: $id) { kind eval { ${EVAL_FIELDS} } evalMetrics { step } } }`,
      { id },
    );
    await client.dispose();
    expect(errors).toEqual([]);
    const live = events.map((e) => e.trainingProgress);
    // evalSteps defaults to saveSteps: steps 2 and 4 (the end); a late subscriber would find them in STATE's evalMetrics
    const seen = [...(live[0].evalMetrics ?? []).map((e) => e.step), ...live.filter((e) => e.kind === "EVAL").map((e) => e.eval!.step)];
    expect(seen).toEqual([2, 4]);

    const q = await demo.api.gql<{ trainingRun: { status: string; evalMetrics: Eval[]; summary: { evalLoss: number; trainLoss: number }; outDir: string; evalDataset: { id: string } } }>(
      `{ trainingRun(id: "${id}") { status outDir evalDataset { id } evalMetrics { ${EVAL_FIELDS} } summary { evalLoss trainLoss } } }`,
    );
    expect(q.errors).toBeUndefined();
    const run = q.data!.trainingRun;
    expect(run.status).toBe("SUCCEEDED");
    expect(run.evalDataset.id).toBe(demo.datasetId);
    expect(run.evalMetrics.map((e) => e.step)).toEqual([2, 4]);
    for (const e of run.evalMetrics) {
      expect(e.evalLoss).toBeGreaterThan(0);
      expect(e.perplexity).toBeCloseTo(Math.exp(e.evalLoss), 6);
      expect(e.evalTokens).toBeGreaterThan(0);
    }
    expect(run.summary.evalLoss).toBe(run.evalMetrics[1].evalLoss);
    const state = JSON.parse(await readFile(path.join(run.outDir, "checkpoint-4", "trainer_state.json"), "utf8")) as { log_history: { step: number; eval_loss?: number }[] };
    expect(state.log_history.filter((h) => h.eval_loss !== undefined).map((h) => [h.step, h.eval_loss])).toEqual(run.evalMetrics.map((e) => [e.step, e.evalLoss]));
    // the run's log says so in HF's words
    const logs = await demo.api.gql<{ trainingRun: { logs: { message: string }[] } }>(`{ trainingRun(id: "${id}") { logs { message } } }`);
    expect(logs.data!.trainingRun.logs.map((l) => l.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^\{'eval_loss': [\d.]+, 'eval_runtime': /)]));
  });

  it("evalSplit: held out of training and evaluated; bad combinations are one error naming the field, and nothing is queued", async () => {
    const r = await start("", `{ maxSteps: 2, batchSize: 2, maxSeqLength: 48, saveSteps: 2, evalSplit: 0.25, optim: "adamw" }`);
    expect(r.errors).toBeUndefined();
    const id = r.data!.startTraining.id;
    const run = await until("the run to end", async () => {
      const q = await demo.api.gql<{ trainingRun: { status: string; evalMetrics: Eval[] } }>(`{ trainingRun(id: "${id}") { status evalMetrics { step evalLoss } } }`);
      return ["SUCCEEDED", "FAILED"].includes(q.data!.trainingRun.status) && q.data!.trainingRun;
    });
    expect(run.status).toBe("SUCCEEDED");
    expect(run.evalMetrics.map((e) => e.step)).toEqual([2]);

    const before = await demo.api.gql<{ trainingRuns: { totalCount: number } }>("{ trainingRuns { totalCount } }");
    const both = await start(`evalDatasetId: "${demo.datasetId}",`, "{ evalSplit: 0.1 }");
    expect(both.errors?.[0]?.message).toMatch(/^evalDatasetId cannot be used with hyperparameters\.evalSplit/);
    expect(both.errors?.[0]?.extensions?.field).toBe("input.evalDatasetId");
    const tooMuch = await start("", "{ evalSplit: 0.7 }");
    expect(tooMuch.errors?.[0]?.message).toMatch(/evalSplit.*\[0, 0\.5\]/);
    expect(tooMuch.errors?.[0]?.extensions?.field).toBe("input.hyperparameters.evalSplit");
    const missing = await start(`evalDatasetId: "nope",`, "{}");
    expect(missing.errors?.[0]?.message).toMatch(/^evalDatasetId: no dataset nope/);
    const after = await demo.api.gql<{ trainingRuns: { totalCount: number } }>("{ trainingRuns { totalCount } }");
    expect(after.data!.trainingRuns.totalCount).toBe(before.data!.trainingRuns.totalCount);
  });
});
