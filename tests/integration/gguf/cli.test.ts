import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerExport } from "../../../src/cli/commands/export.js";
import { presetConfig } from "../../../src/model/config.js";
import { initModel } from "../../../src/model/init.js";
import { cliRunner } from "../../helpers/cli.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  await initModel({ config: presetConfig("tiny"), out: path.join(root, "base"), seed: 2, dtype: "BF16" });
});
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

const cli = cliRunner(registerExport);

describe("tunegraph export --format gguf", () => {
  it("writes model-<quant>.gguf and says what it wrote", async () => {
    const r = await cli(["export", "--model", path.join(root, "base"), "--out", path.join(root, "q8"), "--format", "gguf", "--quant", "q8_0"]);
    expect(r.err).toBe("");
    expect(r.code).toBeNull();
    expect(r.out).toMatch(/^export: wrote gguf q8_0 .*model-q8_0\.gguf \(0\.\d{3} GB; tensors: 14 Q8_0, 19 F32\) in [\d.]+ s\n$/);
    expect(await readdir(path.join(root, "q8"))).toEqual(["model-q8_0.gguf"]);
  });

  it("prints one line and exits 1 on an unknown quantization or a directory that is not a checkpoint", async () => {
    const bad = await cli(["export", "--model", path.join(root, "base"), "--out", path.join(root, "never"), "--format", "gguf", "--quant", "q5_k"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--quant.*q5_k.*invalid.*f16, q8_0, q4_0/);
    const missing = await cli(["export", "--model", path.join(root, "nothing"), "--out", path.join(root, "never"), "--format", "gguf"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`tunegraph: ${path.join(root, "nothing")}: no such checkpoint directory\n`);
    expect(await readdir(root)).not.toContain("never");
  });
});
