import { mkdir, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, noBackends, startTestApi, type TestApi } from "./harness.js";

const KEY = "test-key-123";
const auth = { authorization: `Bearer ${KEY}` };
describe("GraphQL API over HTTP and WebSocket", () => {
  let api: TestApi;
  let modelId: string;
  let datasetId: string;

  beforeAll(async () => {
    api = await startTestApi({
      backends: noBackends,
      demo: true,
      env: { TUNEGRAPH_API_KEY: KEY, TUNEGRAPH_MAX_ACTIVE_RUNS: "2", TUNEGRAPH_MAX_DEPTH: "6", TUNEGRAPH_MAX_COST: "400", TUNEGRAPH_BODY_LIMIT: "20000" },
    });
    const r = await api.gql<{ models: { id: string; name: string }[]; datasets: { id: string; conversationCount: number }[] }>(
      "{ models { id name } datasets { id conversationCount format } }",
      {},
      auth,
    );
    modelId = r.data!.models[0]!.id;
    datasetId = r.data!.datasets[0]!.id;
  });
  afterAll(async () => {
    await api?.close();
  });

  const code = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;

  it("seeds the demo model and dataset on the first start", async () => {
    const r = await api.gql<{ models: { name: string; parameterCount: number; randomWeights: boolean; config: { hidden_size: number } }[]; datasets: { name: string; format: string; conversationCount: number }[] }>(
      "{ models { name parameterCount randomWeights config } datasets { name format conversationCount } }",
      {},
      auth,
    );
    // the demo's weights are random: the playground says so beside the model picker
    expect(r.data!.models).toEqual([expect.objectContaining({ name: "demo-tiny", randomWeights: true })]);
    expect(r.data!.models[0]!.config.hidden_size).toBe(64);
    expect(r.data!.datasets).toEqual([{ name: "demo-oasst", format: "oasst-messages", conversationCount: 36 }]);
  });

  it("answers health without the API key and refuses everything else without it", async () => {
    const health = await api.gql<{ health: { ok: boolean; database: boolean } }>("{ health { ok database } }");
    expect(health.data!.health).toEqual({ ok: true, database: true });
    const denied = await api.gql("{ models { id } }");
    expect(denied.status).toBe(401);
    expect(code(denied)).toBe("UNAUTHENTICATED");
    const wrong = await api.gql("{ models { id } }", {}, { authorization: "Bearer nope" });
    expect(code(wrong)).toBe("UNAUTHENTICATED");
    const mixed = await api.gql("{ health { ok } models { id } }");
    expect(code(mixed)).toBe("UNAUTHENTICATED");
    const ok = await api.gql("{ models { id } }", {}, auth);
    expect(ok.errors).toBeUndefined();
  });

  it("refuses a WebSocket without the key and serves one with it", async () => {
    const anonymous = api.ws();
    const refused = await collect(anonymous, "subscription ($id: ID!) { trainingProgress(runId: $id) { kind } }", { id: "x" });
    expect(refused.events).toEqual([]);
    expect(String((refused.errors[0] as { code?: number }).code)).toBe("4403");
    await anonymous.dispose();

    const client = api.ws({ authorization: `Bearer ${KEY}` });
    const missing = await collect(client, "subscription ($id: ID!) { trainingProgress(runId: $id) { kind } }", { id: "no-such-run" });
    expect(missing.errors).toEqual([expect.objectContaining({ extensions: { code: "NOT_FOUND" } })]);
    await client.dispose();
  });

  it("refuses paths outside the roots, by .. and by symlink", async () => {
    const traversal = await api.gql("mutation { registerModel(name: \"x\", path: \"../../etc\") { id } }", {}, auth);
    expect(code(traversal)).toBe("BAD_USER_INPUT");
    expect(traversal.errors![0]!.message).toMatch(/outside the allowed roots/);
    const absolute = await api.gql("mutation { registerDataset(name: \"x\", path: \"/etc/passwd\") { id } }", {}, auth);
    expect(code(absolute)).toBe("BAD_USER_INPUT");
    await mkdir(path.join(api.dataDir, "links"), { recursive: true });
    await symlink(os.tmpdir(), path.join(api.dataDir, "links", "out"));
    const viaLink = await api.gql("mutation { registerModel(name: \"x\", path: \"links/out\") { id } }", {}, auth);
    expect(code(viaLink)).toBe("BAD_USER_INPUT");
    expect(viaLink.errors![0]!.message).toMatch(/outside the allowed roots/);
    const missing = await api.gql("mutation { registerModel(name: \"x\", path: \"no/such/dir\") { id } }", {}, auth);
    expect(code(missing)).toBe("NOT_FOUND");
  });

  it("registers a checkpoint directory and a data file inside the roots", async () => {
    const model = await api.gql<{ registerModel: { name: string; parameterCount: number; architecture: string; path: string } }>(
      "mutation { registerModel(name: \"again\", path: \"models/demo-tiny\") { name parameterCount architecture path } }",
      {},
      auth,
    );
    expect(model.data!.registerModel).toEqual({ name: "again", parameterCount: 6704640, architecture: "PhiForCausalLM", path: path.join(api.dataDir, "models", "demo-tiny") });
    const data = await api.gql<{ registerDataset: { format: string; conversationCount: number; skipped: object } }>(
      "mutation { registerDataset(name: \"again\", path: \"demo/oasst-demo.jsonl\") { format conversationCount skipped } }",
      {},
      auth,
    );
    expect(data.data!.registerDataset).toEqual({ format: "oasst-messages", conversationCount: 36, skipped: {} });
    const notModel = await api.gql("mutation { registerModel(name: \"d\", path: \"demo\") { id } }", {}, auth);
    expect(code(notModel)).toBe("NOT_FOUND");
    expect(notModel.errors![0]!.message).toMatch(/config\.json/);
  });

  it("gives each validation error its code and a message naming the field", async () => {
    const start = (extra: string) =>
      api.gql(`mutation { startTraining(input: { baseModelId: "${modelId}", datasetId: "${datasetId}"${extra} }) { id status } }`, {}, auth);
    const badR = await start(", hyperparameters: { r: 0 }");
    expect(code(badR)).toBe("BAD_USER_INPUT");
    expect(badR.errors![0]!.message).toMatch(/^r must be an integer in \[1, 1024\]/);
    const badTarget = await start(", hyperparameters: { targetModules: [\"o_proj\"] }");
    expect(badTarget.errors![0]!.message).toMatch(/targetModules/);
    const badPaths = await start(", data: { paths: \"some\" }");
    expect(code(badPaths)).toBe("BAD_USER_INPUT");
    expect(badPaths.errors![0]!.message).toMatch(/^paths must be one of best, all/);
    expect(badPaths.errors![0]!.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.data.paths" });
    const tooLong = await start(", hyperparameters: { maxSeqLength: 100000 }");
    expect(code(tooLong)).toBe("BAD_USER_INPUT");
    expect(tooLong.errors![0]!.message).toMatch(/maxSeqLength/);
    const noModel = await api.gql(`mutation { startTraining(input: { baseModelId: "nope", datasetId: "${datasetId}" }) { id } }`, {}, auth);
    expect(code(noModel)).toBe("NOT_FOUND");
    const wrongType = await start(", hyperparameters: { r: \"eight\" }");
    expect(code(wrongType)).toBe("GRAPHQL_VALIDATION_FAILED");
    // the same mistake in a variable fails coercion: its input path is in extensions.field too
    const wrongVariable = await api.gql("mutation ($input: StartTrainingInput!) { startTraining(input: $input) { id } }",
      { input: { baseModelId: modelId, datasetId, hyperparameters: { r: "eight" } } }, auth);
    expect(wrongVariable.errors![0]!.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.hyperparameters.r" });
    const dupName = await api.gql("mutation { initModel(preset: \"tiny\", name: \"demo-tiny\") { id } }", {}, auth);
    expect(code(dupName)).toBe("CONFLICT");
    const badPreset = await api.gql("mutation { initModel(preset: \"phi-9\", name: \"m9\") { id } }", {}, auth);
    expect(code(badPreset)).toBe("BAD_USER_INPUT");
    expect(badPreset.errors![0]!.message).toMatch(/unknown preset "phi-9"/);
    const badName = await api.gql("mutation { registerDataset(name: \"../x\", path: \"demo/oasst-demo.jsonl\") { id } }", {}, auth);
    expect(code(badName)).toBe("BAD_USER_INPUT");
    const parse = await api.gql("{ models { id ", {}, auth);
    expect(code(parse)).toBe("GRAPHQL_PARSE_FAILED");
    const unknownField = await api.gql("{ models { nope } }", {}, auth);
    expect(code(unknownField)).toBe("GRAPHQL_VALIDATION_FAILED");
    const page = await api.gql("{ trainingRuns(first: 0) { totalCount } }", {}, auth);
    expect(code(page)).toBe("BAD_USER_INPUT");
    const cursor = await api.gql("{ trainingRuns(after: \"garbage\") { totalCount } }", {}, auth);
    expect(code(cursor)).toBe("BAD_USER_INPUT");
    const tokens = await api.gql(`{ generate(input: { modelId: "${modelId}", prompt: "hi", maxNewTokens: 100000 }) { text } }`, {}, auth);
    expect(code(tokens)).toBe("BAD_USER_INPUT");
    expect(tokens.errors![0]!.message).toMatch(/maxNewTokens must be at most 1024/);
    const unknownModel = await api.gql(`{ generate(input: { modelId: "nope", prompt: "hi" }) { text } }`, {}, auth);
    expect(code(unknownModel)).toBe("NOT_FOUND");
  });

  it("queues runs up to the limit, cancels queued ones at once, and pages through runs", async () => {
    const start = (name = "") =>
      api.gql<{ startTraining: { id: string; name: string | null; status: string; maxSteps: number; hyperparameters: { r: number; optim: string } } }>(
        `mutation { startTraining(input: { ${name} baseModelId: "${modelId}", datasetId: "${datasetId}", hyperparameters: { maxSteps: 3 } }) { id name status maxSteps hyperparameters { r optim } } }`,
        {},
        auth,
      );
    const tooLong = await start(`name: "${"x".repeat(201)}",`);
    expect(tooLong.errors![0]!.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.name" });
    const a = await start('name: "  first try ",');
    expect(a.data!.startTraining).toMatchObject({ name: "first try", status: "QUEUED", maxSteps: 3, hyperparameters: { r: 8, optim: "adamw8bit" } });
    const b = await start();
    expect(b.data!.startTraining.name).toBeNull();
    const c = await start();
    expect(code(c)).toBe("LIMIT_EXCEEDED");

    const cancel = (id: string) => api.gql<{ cancelTraining: { status: string } }>(`mutation { cancelTraining(id: "${id}") { status } }`, {}, auth);
    expect((await cancel(a.data!.startTraining.id)).data!.cancelTraining.status).toBe("CANCELLED");
    expect(code(await cancel(a.data!.startTraining.id))).toBe("CONFLICT");
    const deleteQueued = await api.gql(`mutation { deleteTrainingRun(id: "${b.data!.startTraining.id}") }`, {}, auth);
    expect(code(deleteQueued)).toBe("CONFLICT");
    await cancel(b.data!.startTraining.id);

    const first = await api.gql<{ trainingRuns: { nodes: { id: string }[]; pageInfo: { endCursor: string; hasNextPage: boolean }; totalCount: number } }>(
      "{ trainingRuns(first: 1, filter: { status: [CANCELLED] }) { nodes { id } pageInfo { endCursor hasNextPage } totalCount } }",
      {},
      auth,
    );
    expect(first.data!.trainingRuns.totalCount).toBe(2);
    expect(first.data!.trainingRuns.pageInfo.hasNextPage).toBe(true);
    const second = await api.gql<{ trainingRuns: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean } } }>(
      `{ trainingRuns(first: 1, after: "${first.data!.trainingRuns.pageInfo.endCursor}", filter: { status: [CANCELLED] }) { nodes { id } pageInfo { hasNextPage } } }`,
      {},
      auth,
    );
    expect(second.data!.trainingRuns.pageInfo.hasNextPage).toBe(false);
    const named = await api.gql<{ trainingRun: { name: string } }>(`{ trainingRun(id: "${a.data!.startTraining.id}") { name } }`, {}, auth);
    expect(named.data!.trainingRun.name).toBe("first try");
    const ids = [first.data!.trainingRuns.nodes[0]!.id, second.data!.trainingRuns.nodes[0]!.id].sort();
    expect(ids).toEqual([a.data!.startTraining.id, b.data!.startTraining.id].sort());

    // a late subscriber to an ended run gets its state, then the end
    const client = api.ws({ authorization: `Bearer ${KEY}` });
    const late = await collect<{ trainingProgress: { kind: string; status: string } }>(
      client,
      "subscription ($id: ID!) { trainingProgress(runId: $id) { kind status } }",
      { id: a.data!.startTraining.id },
    );
    expect(late.events.map((e) => e.trainingProgress)).toEqual([{ kind: "STATE", status: "CANCELLED" }]);
    await client.dispose();
  });

  it("limits query depth, cost and body size", async () => {
    const deep = await api.gql("{ trainingRuns { nodes { baseModel { id } adapter { run { adapter { run { id } } } } } } }", {}, auth);
    expect(code(deep)).toBe("QUERY_TOO_DEEP");
    const costly = await api.gql("{ trainingRuns(first: 100) { nodes { metrics { step loss gradNorm learningRate epoch } } } }", {}, auth);
    expect(code(costly)).toBe("QUERY_TOO_COSTLY");
    const cheap = await api.gql("{ trainingRuns(first: 5) { nodes { metrics(last: 10) { step loss } } } }", {}, auth);
    expect(cheap.errors).toBeUndefined();
    const big = await fetch(api.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ query: `{ health { ok } } # ${"x".repeat(30000)}` }),
    });
    expect(big.status).toBe(413);
  });
});
