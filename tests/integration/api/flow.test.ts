import { describe, expect, it } from "vitest";
import { collect, demoServer, until } from "./harness.js";

// a few steps on the tiny demo model: enough to see loss events, a checkpoint, an adapter, a merge and a generation
const HP = "{ maxSteps: 4, batchSize: 2, maxSeqLength: 48, loggingSteps: 1, saveSteps: 2, learningRate: 0.001, optim: \"adamw\" }";

const PROGRESS = `subscription ($id: ID!) {
  trainingProgress(runId: $id) { kind status currentStep maxSteps metric { step loss gradNorm learningRate } checkpoint { step path } log { level message } }
}`;

interface Progress {
  trainingProgress: {
    kind: string;
    status: string;
    currentStep: number;
    metric: { step: number; loss: number; gradNorm: number } | null;
    checkpoint: { step: number } | null;
  };
}


describe("the whole flow on the tiny demo model", () => {
  const demo = demoServer();

  it("startTraining -> ordered loss events -> SUCCEEDED with an adapter -> mergeAdapter -> generate", async () => {
    const client = demo.api.ws();
    const started = await demo.api.gql<{ startTraining: { id: string } }>(
      `mutation { startTraining(input: { baseModelId: "${demo.modelId}", datasetId: "${demo.datasetId}", hyperparameters: ${HP} }) { id } }`,
    );
    expect(started.errors).toBeUndefined();
    const runId = started.data!.startTraining.id;
    const { events, errors } = await collect<Progress>(client, PROGRESS, { id: runId });
    await client.dispose();
    expect(errors).toEqual([]);
    const progress = events.map((e) => e.trainingProgress);
    expect(progress[0]!.kind).toBe("STATE");
    const steps = progress.filter((e) => e.kind === "METRIC").map((e) => e.metric!.step);
    expect(steps).toEqual([1, 2, 3, 4]);
    for (const e of progress.filter((e) => e.kind === "METRIC")) expect(Number.isFinite(e.metric!.loss)).toBe(true);
    expect(progress.filter((e) => e.kind === "CHECKPOINT").map((e) => e.checkpoint!.step)).toEqual(expect.arrayContaining([2]));
    expect(progress.at(-1)).toMatchObject({ kind: "STATUS", status: "SUCCEEDED" });

    const run = await demo.api.gql<{ trainingRun: { status: string; currentStep: number; metrics: { step: number }[]; summary: { globalStep: number; skippedSteps: number }; adapter: { id: string; r: number; targetModules: string[] } } }>(
      `{ trainingRun(id: "${runId}") { status currentStep metrics { step } summary { globalStep trainLoss skippedSteps } adapter { id r targetModules } checkpoints { step } } }`,
    );
    expect(run.data!.trainingRun).toMatchObject({ status: "SUCCEEDED", currentStep: 4, summary: { globalStep: 4, skippedSteps: 0 }, adapter: { r: 8, targetModules: ["q_proj", "v_proj"] } });
    expect(run.data!.trainingRun.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4]);

    // the trained adapter, imported again as if trained elsewhere (PEFT layout, checked against the base model)
    const adapterPath = (await demo.api.gql<{ adapters: { path: string }[] }>("{ adapters { path } }")).data!.adapters[0]!.path;
    const imported = await demo.api.gql<{ importAdapter: { r: number; loraAlpha: number; targetModules: string[]; run: null; baseModel: { id: string } } }>(
      `mutation { importAdapter(name: "imported", path: "${adapterPath}", baseModelId: "${demo.modelId}") { r loraAlpha targetModules run { id } baseModel { id } } }`,
    );
    expect(imported.data!.importAdapter).toEqual({ r: 8, loraAlpha: 16, targetModules: ["q_proj", "v_proj"], run: null, baseModel: { id: demo.modelId } });

    const merge = await demo.api.gql<{ mergeAdapter: { id: string; status: string } }>(
      `mutation { mergeAdapter(adapterId: "${run.data!.trainingRun.adapter.id}", precision: FP32) { id status } }`,
    );
    expect(merge.data!.mergeAdapter.status).toBe("QUEUED");
    const mergedId = merge.data!.mergeAdapter.id;
    const ready = await until("the merge", async () => {
      const m = await demo.api.gql<{ mergedModel: { status: string; error: string | null; sizeBytes: number } }>(`{ mergedModel(id: "${mergedId}") { status error sizeBytes } }`);
      return m.data!.mergedModel.status === "READY" || m.data!.mergedModel.status === "FAILED" ? m.data!.mergedModel : null;
    });
    expect(ready).toMatchObject({ status: "READY", error: null });
    expect(ready.sizeBytes).toBeGreaterThan(0);

    const gen = await demo.api.gql<{ generate: { id: string; text: string; completionTokens: number; finishReason: string; model: { __typename: string; id: string } } }>(
      `{ generate(input: { modelId: "${mergedId}", messages: [{ role: "user", content: "What is a LoRA adapter?" }], maxNewTokens: 5 }) { id text completionTokens finishReason model { __typename ... on MergedModel { id } } } }`,
    );
    expect(gen.errors).toBeUndefined();
    expect(gen.data!.generate.completionTokens).toBeGreaterThan(0);
    expect(gen.data!.generate.model).toEqual({ __typename: "MergedModel", id: mergedId });
    const stored = await demo.api.gql<{ generations: { id: string; text: string }[] }>("{ generations { id text } }");
    expect(stored.data!.generations).toEqual([{ id: gen.data!.generate.id, text: gen.data!.generate.text }]);

    // the same request streamed: chunks, then the stored Generation, whose text is the chunks joined
    const client2 = demo.api.ws();
    const stream = await collect<{ generationStream: { text: string; done: boolean; generation: { id: string; text: string } | null } }>(
      client2,
      `subscription ($m: ID!) { generationStream(input: { modelId: $m, messages: [{ role: "user", content: "What is a LoRA adapter?" }], maxNewTokens: 5 }) { text done generation { id text } } }`,
      { m: mergedId },
    );
    await client2.dispose();
    expect(stream.errors).toEqual([]);
    const chunks = stream.events.map((e) => e.generationStream);
    const last = chunks.at(-1)!;
    expect(last.done).toBe(true);
    expect(chunks.slice(0, -1).every((c) => !c.done)).toBe(true);
    expect(chunks.map((c) => c.text).join("")).toBe(last.generation!.text);
    expect(last.generation!.text).toBe(gen.data!.generate.text); // greedy: the same text

    // a base model is exported on first use and served the same way
    const base = await demo.api.gql<{ generate: { completionTokens: number; model: { __typename: string; id: string } } }>(
      `{ generate(input: { modelId: "${demo.modelId}", prompt: "Hello", maxNewTokens: 3 }) { completionTokens model { __typename ... on BaseModel { id } } } }`,
    );
    expect(base.errors).toBeUndefined();
    expect(base.data!.generate).toEqual({ completionTokens: 3, model: { __typename: "BaseModel", id: demo.modelId } });
  });

  it("cancels a running run: the subscription ends with CANCELLED", async () => {
    const started = await demo.api.gql<{ startTraining: { id: string } }>(
      `mutation { startTraining(input: { baseModelId: "${demo.modelId}", datasetId: "${demo.datasetId}", hyperparameters: { maxSteps: 500, batchSize: 1, maxSeqLength: 32, loggingSteps: 1, saveSteps: 1000 } }) { id } }`,
    );
    const runId = started.data!.startTraining.id;
    const client = demo.api.ws();
    const events: Progress["trainingProgress"][] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<Progress>(
        { query: PROGRESS, variables: { id: runId } },
        {
          next: (v) => {
            const e = v.data!.trainingProgress;
            events.push(e);
            if (e.kind === "METRIC" && e.metric!.step === 2) {
              void demo.api.gql(`mutation { cancelTraining(id: "${runId}") { id } }`);
            }
          },
          error: reject,
          complete: resolve,
        },
      );
    });
    await done;
    await client.dispose();
    expect(events.at(-1)).toMatchObject({ kind: "STATUS", status: "CANCELLED" });
    const last = events.filter((e) => e.kind === "METRIC").at(-1)!.metric!.step;
    expect(last).toBeLessThan(500);
    const run = await demo.api.gql<{ trainingRun: { status: string; adapter: null } }>(`{ trainingRun(id: "${runId}") { status adapter { id } } }`);
    expect(run.data!.trainingRun).toEqual({ status: "CANCELLED", adapter: null });
  });
});
