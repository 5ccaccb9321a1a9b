import { mkdtemp, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../../../src/model/checkpoint.js";
import { presetConfig } from "../../../src/model/config.js";
import { initModel } from "../../../src/model/init.js";
import { mergeAdapter, mergeLoraInto } from "../../../src/model/merge.js";
import { loraConfig, writeAdapter, type LoraWeights } from "../../../src/model/peft.js";

describe("mergeLoraInto", () => {
  it("adds scale · B · A, checked against a product worked by hand", () => {
    // W [2, 3], A [r=2, 3], B [2, 2], scale 0.5
    const w = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const lora: LoraWeights = { module: "m", inFeatures: 3, outFeatures: 2, A: Float32Array.from([1, 0, 2, 0, 1, -1]), B: Float32Array.from([1, 2, 3, -1]) };
    // B·A = [[1·1+2·0, 1·0+2·1, 1·2+2·(-1)], [3·1-1·0, 3·0-1·1, 3·2-1·(-1)]] = [[1, 2, 0], [3, -1, 7]]
    expect(Array.from(mergeLoraInto(w, lora, 0.5))).toEqual([1.5, 3, 3, 5.5, 4.5, 9.5]);
  });
});

describe("mergeAdapter", () => {
  const config = presetConfig("tiny", { vocab_size: 300 });
  let root: string, model: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    model = path.join(root, "base");
    await initModel({ config, out: model, seed: 5, dtype: "F32" });
  });
  afterAll(async () => { await rm(root, { recursive: true, force: true }); });

  const adapter = async (name: string, fillB: number, r = 4, useRslora = false) => {
    const dir = path.join(root, name);
    const q: LoraWeights = { module: "model.layers.1.self_attn.q_proj", inFeatures: 64, outFeatures: 64,
      A: Float32Array.from({ length: r * 64 }, (_, i) => Math.sin(i)), B: Float32Array.from({ length: 64 * r }, (_, i) => fillB * Math.cos(i)) };
    const fc2: LoraWeights = { module: "model.layers.0.mlp.fc2", inFeatures: 256, outFeatures: 64,
      A: Float32Array.from({ length: r * 256 }, (_, i) => (i % 3) - 1), B: new Float32Array(64 * r).fill(fillB) };
    await writeAdapter(dir, loraConfig({ r, loraAlpha: 8, loraDropout: 0.05, targetModules: ["q_proj", "fc2"], useRslora }), [q, fc2]);
    return { dir, q, fc2 };
  };

  it("with B = 0 writes the base model unchanged", async () => {
    const { dir } = await adapter("zero", 0);
    const out = path.join(root, "merged-zero");
    const res = await mergeAdapter(model, dir, out);
    expect(res.mergedModules).toBe(2);
    const [a, b] = [await Checkpoint.open(model), await Checkpoint.open(out)];
    for (const name of a.names()) expect(await b.read(name)).toEqual(await a.read(name));
    await Promise.all([a.close(), b.close()]);
    expect((await readdir(out)).sort()).toEqual(expect.arrayContaining(["config.json", "generation_config.json", "model.safetensors", "tokenizer.json"]));
  });

  it("merges W + (alpha/√r) · B · A into exactly the adapted tensors, sharded and in f16 when asked", async () => {
    const { dir, q } = await adapter("real", 0.3, 4, true);
    const out = path.join(root, "merged-real");
    const res = await mergeAdapter(model, dir, out, { dtype: "F16", maxShardBytes: 200_000 });
    expect(res.files.length).toBeGreaterThan(1);
    expect(await readdir(out)).toContain("model.safetensors.index.json");
    const [a, b] = [await Checkpoint.open(model), await Checkpoint.open(out)];
    expect(b.dtype).toBe("F16");
    const w = await a.read("model.layers.1.self_attn.q_proj.weight");
    const merged = await b.read("model.layers.1.self_attn.q_proj.weight");
    const scale = 8 / Math.sqrt(4);
    let maxErr = 0, maxDelta = 0;
    for (let o = 0; o < 64; o++) {
      for (let i = 0; i < 64; i++) {
        let ba = 0;
        for (let k = 0; k < 4; k++) ba += q.B[o * 4 + k] * q.A[k * 64 + i];
        const expected = w[o * 64 + i] + scale * ba;
        maxErr = Math.max(maxErr, Math.abs(merged[o * 64 + i] - expected) / Math.max(1e-3, Math.abs(expected)));
        maxDelta = Math.max(maxDelta, Math.abs(scale * ba));
      }
    }
    expect(maxDelta).toBeGreaterThan(0.5);
    expect(maxErr).toBeLessThan(1e-3); // f16 rounding
    const untouched = await b.read("model.layers.0.self_attn.q_proj.weight");
    const original = await a.read("model.layers.0.self_attn.q_proj.weight");
    for (let i = 0; i < original.length; i += 97) expect(Math.abs(untouched[i] - original[i])).toBeLessThanOrEqual(Math.abs(original[i]) * 1e-3);
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses an adapter for another base and a non-empty output directory", async () => {
    const dir = path.join(root, "other");
    await writeAdapter(dir, loraConfig({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ["q_proj"], baseModel: "microsoft/phi-2" }), [
      { module: "model.layers.0.self_attn.q_proj", inFeatures: 2560, outFeatures: 2560, A: new Float32Array(2 * 2560), B: new Float32Array(2560 * 2) }]);
    await expect(mergeAdapter(model, dir, path.join(root, "never"))).rejects.toThrow(/expected shape \[2, 64\], found \[2, 2560\].*microsoft\/phi-2/);
    const busy = path.join(root, "busy");
    await mkdir(busy);
    await writeFile(path.join(busy, "x"), "");
    await expect(mergeAdapter(model, dir, busy)).rejects.toThrow(/output directory is not empty/);
  });
});
