import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { registerPull } from "../../../src/cli/commands/pull.js";
import { readConversations } from "../../../src/data/read.js";
import { PARTIAL_DIR } from "../../../src/hub/pull.js";
import { Checkpoint } from "../../../src/model/checkpoint.js";
import { parameterCount, presetConfig } from "../../../src/model/config.js";
import { cliRunner } from "../../helpers/cli.js";
import { startFakeHub, type FakeHub } from "../../helpers/hub-server.js";
import { COMMIT, hubRepos, OLD_COMMIT } from "./repos.js";

const cli = cliRunner(registerPull);
const SHARD = "model-00001-of-00002.safetensors";
let hub: FakeHub;
let fixture: Awaited<ReturnType<typeof hubRepos>>;
let tmp: string;
const saved = { ...process.env };

beforeAll(async () => {
  fixture = await hubRepos();
  hub = await startFakeHub(fixture.repos);
  tmp = await mkdtemp(path.join(os.tmpdir(), "tg-pull-"));
  process.env.HF_ENDPOINT = `${hub.url}/`; // a trailing slash, as users write it
  process.env.HF_HOME = path.join(tmp, "hf-home"); // no token file from the machine
  delete process.env.HF_TOKEN;
});
afterAll(async () => {
  process.env = saved;
  await hub?.close();
  await fixture?.cleanup();
  await rm(tmp, { recursive: true, force: true });
});
afterEach(() => {
  hub.requests.length = 0;
  hub.cutOnce.clear();
  hub.stallOnce.clear();
  hub.corrupt.clear();
  delete process.env.HF_TOKEN;
});

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const oneLine = (r: { err: string; code: number | null }): string => {
  expect(r.code).toBe(1);
  expect(r.err).not.toMatch(/\n\s+at /);
  return r.err.trimEnd().split("\n").at(-1)!;
};

describe("tunegraph pull (against a local server speaking the Hub's protocol)", () => {
  it("pulls what a checkpoint needs, sharded, verified, and it opens as a Phi model", async () => {
    const out = path.join(tmp, "model");
    const r = await cli(["pull", "test-org/tiny-phi", "--out", out]);
    expect(r.err).not.toMatch(/tunegraph:/);
    expect(r.code).toBeNull();
    const want = Object.keys(fixture.modelFiles).sort();
    expect(want).toEqual(expect.arrayContaining([SHARD, "model-00002-of-00002.safetensors", "model.safetensors.index.json", "config.json", "generation_config.json", "tokenizer.json"]));
    expect((await readdir(out)).filter((f) => f !== ".cache").sort()).toEqual(want);
    for (const f of want) expect(sha256(await readFile(path.join(out, f))), f).toBe(sha256(fixture.modelFiles[f]!));
    const checkpoint = await Checkpoint.open(out);
    await checkpoint.close();
    const params = parameterCount(presetConfig("tiny"));
    expect(r.out).toContain(`pull: test-org/tiny-phi at ${COMMIT}: ${want.length} files`);
    expect(r.out).toContain(`PhiForCausalLM, ${params.toLocaleString("en-US")} parameters`);
    // stderr is not a terminal here: one line per file, no bar
    expect(r.err.split("\n").filter((l) => / checksum verified$/.test(l))).toHaveLength(want.length);
    expect(r.err).not.toMatch(/\u001b\[/);
    // what it asked: the revision pinned to its commit, the listing page by page (Link: rel="next"), files at the commit
    const paths = hub.requests.map((q) => q.url);
    expect(paths[0]).toMatch(/^\/api\/models\/test-org\/tiny-phi\/revision\/main\?/);
    expect(paths.filter((p) => p.startsWith(`/api/models/test-org/tiny-phi/tree/${COMMIT}?recursive=true`)).length).toBeGreaterThan(2);
    expect(paths.some((p) => p.startsWith(`/test-org/tiny-phi/resolve/${COMMIT}/${SHARD}`))).toBe(true);
    expect(paths.filter((p) => p.startsWith("/cdn-lfs/")).length).toBeGreaterThan(0);
    expect(paths.some((p) => /pytorch_model\.bin|README|onnx/.test(p))).toBe(false);

    // a second pull into the same directory verifies what is there and downloads nothing
    hub.requests.length = 0;
    const again = await cli(["pull", "test-org/tiny-phi", "--out", out]);
    expect(again.code).toBeNull();
    expect(again.err.split("\n").filter((l) => / already there, checksum verified$/.test(l))).toHaveLength(want.length);
    expect(hub.requests.filter((q) => q.range === undefined || q.range !== "bytes=0-0").map((q) => q.url).filter((u) => !u.startsWith("/api/"))).toEqual([]);
  });

  it("pins a tag to its commit", async () => {
    const r = await cli(["pull", "test-org/tiny-phi", "--revision", "v1.0", "--out", path.join(tmp, "tagged")]);
    expect(r.code).toBeNull();
    expect(r.out).toContain(`at ${OLD_COMMIT}`);
    expect(hub.requests[0]!.url).toMatch(/\/revision\/v1\.0\?/);
  });

  it("resumes a download cut off mid-file, with a Range request from where it stopped", async () => {
    const size = fixture.modelFiles[SHARD]!.length;
    hub.cutOnce.set(SHARD, 5_000_000);
    const out = path.join(tmp, "cut");
    const r = await cli(["pull", "test-org/tiny-phi", "--out", out]);
    expect(r.code).toBeNull();
    const ranges = hub.requests.filter((q) => q.url.startsWith("/cdn-lfs/") && q.range !== "bytes=0-0").map((q) => q.range);
    const resumedAt = ranges.map((x) => Number(/^bytes=(\d+)-$/.exec(x ?? "")?.[1] ?? -1)).filter((n) => n > 0);
    expect(resumedAt).toHaveLength(1);
    expect(resumedAt[0]).toBeGreaterThanOrEqual(5_000_000 - 65536); // what reached the disk before the cut
    expect(resumedAt[0]).toBeLessThan(size);
    expect(sha256(await readFile(path.join(out, SHARD)))).toBe(sha256(fixture.modelFiles[SHARD]!));
  });

  it("drops a connection that stalls (HF_HUB_DOWNLOAD_TIMEOUT) and resumes it", async () => {
    hub.stallOnce.set(SHARD, 4_000_000);
    process.env.HF_HUB_DOWNLOAD_TIMEOUT = "0.5";
    try {
      const out = path.join(tmp, "stalled");
      const r = await cli(["pull", "test-org/tiny-phi", "--out", out]);
      expect(r.code).toBeNull();
      const resumed = hub.requests.filter((q) => q.url.startsWith("/cdn-lfs/") && /^bytes=[1-9]\d*-$/.test(q.range ?? ""));
      expect(resumed).toHaveLength(1);
      expect(sha256(await readFile(path.join(out, SHARD)))).toBe(sha256(fixture.modelFiles[SHARD]!));
    } finally {
      delete process.env.HF_HUB_DOWNLOAD_TIMEOUT;
    }
  });

  it("continues a partial file an earlier pull left (not restarted)", async () => {
    const out = path.join(tmp, "partial");
    const content = fixture.modelFiles[SHARD]!;
    const partial = path.join(out, PARTIAL_DIR, `${SHARD}.${sha256(content)}.incomplete`);
    await mkdir(path.dirname(partial), { recursive: true });
    await writeFile(partial, content.subarray(0, 3_000_000));
    const r = await cli(["pull", "test-org/tiny-phi", "--out", out]);
    expect(r.code).toBeNull();
    const shardGets = hub.requests.filter((q) => q.url.startsWith(`/cdn-lfs/${sha256(content)}`) && q.range !== "bytes=0-0");
    expect(shardGets.map((q) => q.range)).toEqual(["bytes=3000000-"]);
    expect(sha256(await readFile(path.join(out, SHARD)))).toBe(sha256(content));
    expect(existsSync(partial)).toBe(false);
  });

  it("a checksum mismatch: one line naming the file, the partial file removed, nothing in place", async () => {
    hub.corrupt.add(SHARD);
    const out = path.join(tmp, "corrupt");
    const line = oneLine(await cli(["pull", "test-org/tiny-phi", "--out", out]));
    expect(line).toBe(
      `tunegraph: ${SHARD}: the downloaded content does not match the Hub's checksum (sha256 ${sha256(corrupted(fixture.modelFiles[SHARD]!))}, ` +
        `expected ${sha256(fixture.modelFiles[SHARD]!)}); the partial file was removed`,
    );
    expect(existsSync(path.join(out, SHARD))).toBe(false);
    expect(await readdir(path.join(out, PARTIAL_DIR))).toEqual([]);
  });

  it("a repo or a revision that does not exist, a bad repo id, a Hub nobody answers on", async () => {
    const out = path.join(tmp, "none");
    expect(oneLine(await cli(["pull", "test-org/nope", "--out", out]))).toBe(`tunegraph: model repo test-org/nope does not exist on ${hub.url} (if it is private, set HF_TOKEN)`);
    expect(oneLine(await cli(["pull", "test-org/tiny-phi", "--revision", "v9", "--out", out]))).toBe(`tunegraph: revision "v9" does not exist in model repo test-org/tiny-phi`);
    expect(oneLine(await cli(["pull", "test-org/tiny-phi", "--dataset", "--out", out]))).toMatch(/^tunegraph: dataset repo test-org\/tiny-phi does not exist/);
    expect(oneLine(await cli(["pull", "../etc", "--out", out]))).toBe(`tunegraph: repo must be a Hub repo id such as microsoft/phi-2, got "../etc"`);
    // a listing (from whatever HF_ENDPOINT answers) never writes outside --out
    expect(oneLine(await cli(["pull", "test-org/escape", "--dataset", "--out", out]))).toBe(
      `tunegraph: dataset repo test-org/escape: the Hub listed a file with an unsafe path, "../../escape.parquet"`,
    );
    const closed = await closedPort();
    process.env.HF_ENDPOINT = `http://127.0.0.1:${closed}`;
    try {
      expect(oneLine(await cli(["pull", "test-org/tiny-phi", "--out", out]))).toBe(`tunegraph: cannot reach the Hub at http://127.0.0.1:${closed} (ECONNREFUSED); set HF_ENDPOINT for a mirror`);
    } finally {
      process.env.HF_ENDPOINT = hub.url;
    }
  });

  it("HF_TOKEN opens a private repo and is sent to the Hub", async () => {
    const out = path.join(tmp, "private");
    expect(oneLine(await cli(["pull", "test-org/private-phi", "--out", out]))).toMatch(/does not exist on .* \(if it is private, set HF_TOKEN\)/);
    process.env.HF_TOKEN = "not-a-token";
    expect(oneLine(await cli(["pull", "test-org/private-phi", "--out", out]))).toBe(`tunegraph: HF_TOKEN (or the token file) must hold a Hugging Face token starting with "hf_"`);
    process.env.HF_TOKEN = "hf_testtoken";
    hub.requests.length = 0;
    const r = await cli(["pull", "test-org/private-phi", "--out", out]);
    expect(r.code).toBeNull();
    expect(hub.requests.filter((q) => !q.url.startsWith("/cdn-lfs/")).every((q) => q.authorization === "Bearer hf_testtoken")).toBe(true);
  });

  it("pulls a dataset's Parquet splits (not the other exports) and reads them as OASST message rows", async () => {
    const out = path.join(tmp, "oasst");
    const r = await cli(["pull", "test-org/oasst-mini", "--dataset", "--out", out]);
    expect(r.code).toBeNull();
    expect(await readdir(path.join(out, "data"))).toEqual(["train-00000-of-00001-b42a775f407cee45.parquet", "validation-00000-of-00001-134b8fd0c89408b6.parquet"]);
    expect((await readdir(out)).filter((f) => f !== ".cache")).toEqual(["data"]);
    const train = await readConversations(path.join(out, "data/train-00000-of-00001-b42a775f407cee45.parquet"));
    expect(train.format).toBe("oasst-messages");
    expect(r.out).toContain(`pull: split train (data/train-00000-of-00001-b42a775f407cee45.parquet): oasst-messages, ${train.counts.conversations} conversations from ${train.counts.rows} rows`);
    expect(r.out).toMatch(/pull: split validation \(data\/validation-00000-of-00001-134b8fd0c89408b6\.parquet\): oasst-messages, 1 conversation from 4 rows/);
    expect(hub.requests[0]!.url).toMatch(/^\/api\/datasets\/test-org\/oasst-mini\/revision\/main\?/);
    expect(hub.requests.some((q) => q.url.startsWith(`/datasets/test-org/oasst-mini/resolve/${COMMIT}/data/`))).toBe(true);
  });

  it("a Parquet file without the expected columns: one line naming the file and the column", async () => {
    const out = path.join(tmp, "no-parents");
    const file = path.join(out, "data/train-00000-of-00001.parquet");
    expect(oneLine(await cli(["pull", "test-org/no-parents", "--dataset", "--out", out]))).toBe(
      `tunegraph: ${file}: column "parent_id" is missing; OASST message rows need message_id, parent_id, role, text ` +
        `(it has message_id, user_id, created_date, text, role, lang, review_count, review_result, deleted, rank, synthetic, model_name, message_tree_id, tree_state)`,
    );
  });
});

/** A port nothing listens on (one the system just gave and took back). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What the server sends for a corrupted path: one byte in the middle flipped. */
function corrupted(content: Buffer): Buffer {
  const b = Buffer.from(content);
  b[b.length >> 1]! ^= 0xff;
  return b;
}
