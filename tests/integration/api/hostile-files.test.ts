import { createWriteStream } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createBackends } from "../../../src/backends/registry.js";
import { startTestApi, type TestApi } from "./harness.js";

// files that once crashed the server or left a run unreadable, given to the real API
describe("hostile files over the API", () => {
  let api: TestApi;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    api = await startTestApi({ backends: createBackends(), worker: true, demo: true });
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
});
