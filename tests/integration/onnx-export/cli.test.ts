import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerExport } from "../../../src/cli/commands/export.js";
import { registerMerge } from "../../../src/cli/commands/merge.js";
import { Checkpoint } from "../../../src/model/checkpoint.js";
import { presetConfig } from "../../../src/model/config.js";
import { initModel } from "../../../src/model/init.js";
import { loraConfig, writeAdapter } from "../../../src/model/peft.js";
import { cliRunner } from "../../helpers/cli.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  await initModel({ config: presetConfig("tiny", { vocab_size: 1000 }), out: path.join(root, "base"), seed: 2, dtype: "BF16" });
  await writeAdapter(path.join(root, "adapter"), loraConfig({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ["v_proj"] }), [
    { module: "model.layers.0.self_attn.v_proj", inFeatures: 64, outFeatures: 64, A: new Float32Array(128).fill(0.5), B: new Float32Array(128).fill(0.25) },
  ]);
});
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

const cli = cliRunner(registerMerge, registerExport);

describe("tunegraph merge / export", () => {
  it("merges in the base dtype or the one asked for, then exports int4", async () => {
    const merged = path.join(root, "merged");
    const m = await cli(["merge", "--model", path.join(root, "base"), "--adapter", path.join(root, "adapter"), "--out", merged, "--dtype", "f32"]);
    expect(m.code).toBeNull();
    expect(m.out).toMatch(/^merge: 1 LoRA modules merged into .*; wrote F32, 1 file/);
    const [base, out] = [await Checkpoint.open(path.join(root, "base")), await Checkpoint.open(merged)];
    expect([base.dtype, out.dtype]).toEqual(["BF16", "F32"]);
    const [w, w2] = [await base.read("model.layers.0.self_attn.v_proj.weight"), await out.read("model.layers.0.self_attn.v_proj.weight")];
    expect(w2[0] - w[0]).toBeCloseTo(2 * 2 * 0.25 * 0.5, 6); // (alpha / r) · Σ_r B·A = 2 · (2 · 0.125)
    await Promise.all([base.close(), out.close()]);

    const e = await cli(["export", "--model", merged, "--out", path.join(root, "onnx-int4"), "--precision", "int4"]);
    expect(e.code).toBeNull();
    expect(e.out).toMatch(/^export: wrote int4 .*model\.onnx \(0\.\d{3} GB\)/);
    expect(await readdir(path.join(root, "onnx-int4", "onnx"))).toEqual(["model.onnx"]);
    const b = await cli(["export", "--model", merged, "--out", path.join(root, "onnx-b64"), "--precision", "int4", "--block-size", "64"]);
    expect(b.code).toBeNull();
    const bad = await cli(["export", "--model", merged, "--out", path.join(root, "never"), "--precision", "int4", "--block-size", "48"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--block-size.*48.*invalid/);
  });

  it("prints one line and exits 1 on a directory that is not an adapter", async () => {
    const r = await cli(["merge", "--model", path.join(root, "base"), "--adapter", path.join(root, "base"), "--out", path.join(root, "never")]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`tunegraph: ${path.join(root, "base")}: not a PEFT adapter directory: no adapter_config.json\n`);
  });
});
