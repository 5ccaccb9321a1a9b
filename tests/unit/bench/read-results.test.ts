import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readResults } from "../../../bench/lib/run-script.js";

describe("an area script's results", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("come from a JSON object on the last line of stdout when there is one", async () => {
    await writeFile(path.join(dir, "api-2026-11-30.json"), '{"from": "file"}');
    expect(await readResults("api", 'table\nwrote x\n{"from": "stdout"}\n', 0, dir)).toEqual({ from: "stdout" });
  });

  it("else from the newest file named after the script, written during the run", async () => {
    const since = Date.now() - 60_000;
    const old = new Date(since - 60_000);
    await writeFile(path.join(dir, "train-2026-11-29.json"), '{"which": "before the run"}');
    await utimes(path.join(dir, "train-2026-11-29.json"), old, old);
    await writeFile(path.join(dir, "train-2026-11-30-quick.json"), '{"which": "this run"}');
    await writeFile(path.join(dir, "forward-2026-11-30.json"), '{"which": "another script"}');
    expect(await readResults("train", "wrote train-2026-11-30-quick.json\n", since, dir)).toEqual({ which: "this run" });
  });

  it("are an error naming the script when it left none", async () => {
    await writeFile(path.join(dir, "generate.json"), "{}");
    await expect(readResults("generate", "done\n", Date.now() + 60_000, dir)).rejects.toThrow("wrote no bench/results/generate*.json and printed no JSON");
  });
});
