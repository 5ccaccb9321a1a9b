import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readConversations } from "../../../src/data/read.js";
import { PARTIAL_DIR } from "../../../src/hub/pull.js";
import { sweepInterrupted } from "../../../src/services/run-status.js";
import { parameterCount, presetConfig } from "../../../src/model/config.js";
import { startFakeHub, type FakeHub } from "../../helpers/hub-server.js";
import { noBackends, startTestApi, type TestApi } from "../api/harness.js";
import { COMMIT, hubRepos } from "./repos.js";

// pullModel / pullDataset as jobs on the queue, against a local server speaking the Hub's protocol (HF_ENDPOINT)

const SHARD = "model-00001-of-00002.safetensors";
let hub: FakeHub;
let fixture: Awaited<ReturnType<typeof hubRepos>>;
let api: TestApi;

beforeAll(async () => {
  fixture = await hubRepos();
  hub = await startFakeHub(fixture.repos);
  api = await startTestApi({ backends: noBackends, worker: true, env: { HF_ENDPOINT: hub.url, HF_HOME: "/nonexistent" } });
});
afterAll(async () => {
  await api?.close();
  await hub?.close();
  await fixture?.cleanup();
});
afterEach(() => hub.corrupt.clear());

const PULL = "id kind repo revision commit name status path bytesDone bytesTotal error";

interface Pull {
  id: string;
  status: string;
  commit: string;
  path: string;
  bytesDone: number;
  bytesTotal: number;
  error: string | null;
  model: { id: string; name: string; parameterCount: number } | null;
  datasets: { name: string; format: string; conversationCount: number; path: string }[];
}

async function finished(id: string): Promise<Pull> {
  for (let i = 0; i < 300; i++) {
    const r = await api.gql<{ hubPull: Pull }>(`query ($id: ID!) { hubPull(id: $id) { ${PULL} model { id name parameterCount } datasets { name format conversationCount path } } }`, { id });
    const pull = r.data!.hubPull;
    if (pull.status !== "QUEUED" && pull.status !== "RUNNING") return pull;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`pull ${id} did not finish`);
}

async function pull(kind: "pullModel" | "pullDataset", args: Record<string, string>): Promise<{ id: string; status: string } & Record<string, unknown>> {
  const r = await api.gql<Record<string, { id: string; status: string }>>(
    `mutation ($repo: String!, $revision: String, $name: String) { ${kind}(repo: $repo, revision: $revision, name: $name) { ${PULL} } }`,
    args,
  );
  expect(r.errors).toBeUndefined();
  return r.data![kind]!;
}

describe("pullModel / pullDataset (jobs)", () => {
  it("pulls a model at a pinned commit and registers it", async () => {
    const queued = await pull("pullModel", { repo: "test-org/tiny-phi", name: "tiny-from-hub" });
    expect(queued).toMatchObject({ status: "QUEUED", kind: "MODEL", revision: "main", commit: COMMIT, name: "tiny-from-hub" });
    const twice = await api.gql(`mutation { pullModel(repo: "test-org/tiny-phi", name: "other") { id } }`);
    expect(twice.errors?.[0]).toMatchObject({
      message: `a pull of test-org/tiny-phi at ${COMMIT} is under way (pull ${queued.id}): wait for it to finish`,
      extensions: { code: "CONFLICT" },
    });
    const done = await finished(queued.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe("SUCCEEDED");
    expect(done.path).toBe(path.join(api.dataDir, "hub", "models", "test-org", "tiny-phi", COMMIT));
    expect(done.bytesDone).toBe(done.bytesTotal);
    expect(done.bytesTotal).toBe(Object.values(fixture.modelFiles).reduce((n, b) => n + b.length, 0));
    expect(done.model).toMatchObject({ name: "tiny-from-hub", parameterCount: parameterCount(presetConfig("tiny")) });
    const { data } = await api.gql<{ models: { id: string; name: string }[] }>("{ models { id name } }");
    expect(data!.models.map((m) => m.name)).toEqual(["tiny-from-hub"]);

    // the name is taken now: refused before anything is queued
    const again = await api.gql(`mutation { pullModel(repo: "test-org/tiny-phi", name: "tiny-from-hub") { id } }`);
    expect(again.errors?.[0]).toMatchObject({ message: 'name: "tiny-from-hub" is already taken', extensions: { code: "CONFLICT" } });
  });

  it("pulls a dataset's Parquet splits and registers each (train under the name, validation beside it)", async () => {
    const queued = await pull("pullDataset", { repo: "test-org/oasst-mini" });
    const done = await finished(queued.id);
    expect(done.error).toBeNull();
    expect(done.datasets.map((d) => d.name)).toEqual(["oasst-mini", "oasst-mini-validation"]);
    const train = await readConversations(path.join(done.path, "data/train-00000-of-00001-b42a775f407cee45.parquet"));
    expect(done.datasets[0]).toMatchObject({ format: "oasst-messages", conversationCount: train.counts.conversations });
    expect(done.datasets[1]).toMatchObject({ format: "oasst-messages", conversationCount: 1 });
  });

  it("a checksum mismatch fails the pull with one message; nothing registered, the partial file removed", async () => {
    hub.corrupt.add(SHARD);
    const queued = await pull("pullModel", { repo: "test-org/tiny-phi", revision: "v1.0", name: "corrupt" });
    const done = await finished(queued.id);
    expect(done.status).toBe("FAILED");
    expect(done.error).toMatch(new RegExp(`^${SHARD}: the downloaded content does not match the Hub's checksum \\(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\\); the partial file was removed$`));
    expect(done.model).toBeNull();
    const { data } = await api.gql<{ models: { name: string }[] }>("{ models { name } }");
    expect(data!.models.map((m) => m.name)).not.toContain("corrupt");
    expect(existsSync(path.join(done.path, SHARD))).toBe(false);
    expect((await readdir(path.join(done.path, PARTIAL_DIR))).filter((f) => f.startsWith(SHARD))).toEqual([]);
  });

  it("a repo or revision that does not exist is refused at once, naming it", async () => {
    const noRepo = await api.gql(`mutation { pullModel(repo: "test-org/nope") { id } }`);
    expect(noRepo.errors?.[0]).toMatchObject({ message: `model repo test-org/nope does not exist on ${hub.url} (if it is private, set HF_TOKEN)`, extensions: { code: "NOT_FOUND" } });
    const noRev = await api.gql(`mutation { pullDataset(repo: "test-org/oasst-mini", revision: "v9", name: "x") { id } }`);
    expect(noRev.errors?.[0]).toMatchObject({ message: `revision "v9" does not exist in dataset repo test-org/oasst-mini`, extensions: { code: "NOT_FOUND" } });
    const badId = await api.gql(`mutation { pullModel(repo: "a/b/c") { id } }`);
    expect(badId.errors?.[0]).toMatchObject({ message: `repo must be a Hub repo id such as microsoft/phi-2, got "a/b/c"`, extensions: { code: "BAD_USER_INPUT" } });
    const { data } = await api.gql<{ hubPulls: { repo: string }[] }>("{ hubPulls { repo } }");
    expect(data!.hubPulls.map((p) => p.repo)).not.toContain("test-org/nope");
  });

  it("a Parquet file without the expected columns fails the pull naming file and column; nothing registered", async () => {
    const queued = await pull("pullDataset", { repo: "test-org/no-parents", name: "no-parents" });
    const done = await finished(queued.id);
    expect(done.status).toBe("FAILED");
    expect(done.error).toMatch(new RegExp(`^${path.join(done.path, "data/train-00000-of-00001.parquet").replaceAll(".", "\\.")}: column "parent_id" is missing; OASST message rows need message_id, parent_id, role, text`));
    const half = await finished((await pull("pullDataset", { repo: "test-org/half-bad", name: "half" })).id);
    expect(half.error).toMatch(/validation-00000-of-00001\.parquet: column "text" is missing/);
    // the train split read fine and was registered first: it is removed again
    const { data } = await api.gql<{ datasets: { name: string }[] }>("{ datasets { name } }");
    expect(data!.datasets.map((d) => d.name).sort()).toEqual(["oasst-mini", "oasst-mini-validation"]);
  });

  it("a pull whose worker stopped (no heartbeat) is failed by the sweep, saying how to continue", async () => {
    const { prisma } = api.services.ctx;
    const stale = await prisma.hubPull.create({
      data: { kind: "MODEL", repo: "test-org/tiny-phi", revision: "main", commit: COMMIT, name: "stale", status: "RUNNING", path: "/nowhere", datasetIds: [] },
    });
    await prisma.$executeRaw`UPDATE "HubPull" SET "updatedAt" = now() - interval '1 hour' WHERE id = ${stale.id}`;
    await sweepInterrupted(api.services.ctx);
    expect(await finished(stale.id)).toMatchObject({
      status: "FAILED",
      error: "the worker running this pull stopped: pull again (it continues from the files already downloaded)",
    });
  });
});
