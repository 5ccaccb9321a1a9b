import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnnxBackend } from "../../../src/backends/onnx/backend.js";
import { Checkpoint } from "../../../src/model/checkpoint.js";
import { presetConfig } from "../../../src/model/config.js";
import { UserError } from "../../../src/model/errors.js";
import { initModel } from "../../../src/model/init.js";
import { loraConfig, writeAdapter } from "../../../src/model/peft.js";

let root: string;
const backend = new OnnxBackend({ threads: 1 });
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  await initModel({ config: presetConfig("tiny", { vocab_size: 1000 }), out: path.join(root, "base"), seed: 3, dtype: "F32" });
  await writeAdapter(path.join(root, "adapter"), loraConfig({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ["v_proj"] }), [
    { module: "model.layers.1.self_attn.v_proj", inFeatures: 64, outFeatures: 64, A: new Float32Array(128).fill(0.5), B: new Float32Array(128).fill(0.25) },
  ]);
});
afterAll(async () => {
  await backend.close();
  await rm(root, { recursive: true, force: true });
});

describe("OnnxBackend.export (on the export thread)", () => {
  it("merges the adapter into the checkpoint, then exports the merged model", async () => {
    const mergedDir = path.join(root, "merged"), outDir = path.join(root, "model");
    const res = await backend.export(path.join(root, "base"), outDir, { precision: "fp32", merge: { adapterDir: path.join(root, "adapter"), mergedDir } });
    expect(res).toMatchObject({ outDir, modelPath: path.join(outDir, "onnx", "model.onnx"), precision: "fp32" });
    expect(res.sizeBytes).toBeGreaterThan(0);
    expect(existsSync(res.modelPath)).toBe(true);
    const [base, merged] = [await Checkpoint.open(path.join(root, "base")), await Checkpoint.open(mergedDir)];
    const name = "model.layers.1.self_attn.v_proj.weight";
    const [w, w2] = [await base.read(name), await merged.read(name)];
    expect(w2[0] - w[0]).toBeCloseTo(2 * 2 * 0.25 * 0.5, 6); // (alpha / r) · Σ_r B·A
    await Promise.all([base.close(), merged.close()]);
  });

  it("a user mistake in the thread arrives as a UserError with its code", async () => {
    const err = await backend.export(path.join(root, "nope"), path.join(root, "x"), { precision: "fp32" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: "NOT_FOUND", message: expect.stringMatching(/nope: no such checkpoint directory/) });
  });
});
