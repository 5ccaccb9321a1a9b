import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parameterCount, presetConfig } from "../../../src/model/config.js";
import { Checkpoint } from "../../../src/model/checkpoint.js";
import { initModel, initialTensor } from "../../../src/model/init.js";
import { registerInitModel } from "../../../src/cli/commands/init-model.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("initialTensor", () => {
  const c = presetConfig("tiny");
  it("follows HF _init_weights: layer norms 1/0, biases 0, weights normal(0, initializer_range)", () => {
    expect([...initialTensor(c, "model.layers.0.input_layernorm.weight", [64], 1)].every((v) => v === 1)).toBe(true);
    expect([...initialTensor(c, "model.final_layernorm.bias", [64], 1)].every((v) => v === 0)).toBe(true);
    expect([...initialTensor(c, "model.layers.1.mlp.fc1.bias", [256], 1)].every((v) => v === 0)).toBe(true);
    const w = initialTensor(c, "model.layers.0.mlp.fc1.weight", [256, 64], 1);
    const mean = w.reduce((a, v) => a + v, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, v) => a + (v - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(Math.abs(std - c.initializer_range) / c.initializer_range).toBeLessThan(0.03);
  });

  it("depends only on seed and name", () => {
    const a = initialTensor(c, "model.layers.0.self_attn.q_proj.weight", [64, 64], 7);
    expect(initialTensor(c, "model.layers.0.self_attn.q_proj.weight", [64, 64], 7)).toEqual(a);
    expect(initialTensor(c, "model.layers.0.self_attn.k_proj.weight", [64, 64], 7)).not.toEqual(a);
    expect(initialTensor(c, "model.layers.0.self_attn.q_proj.weight", [64, 64], 8)).not.toEqual(a);
  });
});

describe("initModel", () => {
  it("writes the tiny preset as a checkpoint Checkpoint.open reads back", async () => {
    const out = path.join(dir, "tiny");
    const config = presetConfig("tiny");
    const written = await initModel({ config, out, seed: 3, dtype: "F16" });
    expect(written.parameters).toBe(parameterCount(config));
    const ck = await Checkpoint.open(out);
    try {
      expect(ck.dtype).toBe("F16");
      expect(ck.config.hidden_size).toBe(64);
      const ln = await ck.read("model.layers.1.input_layernorm.weight");
      expect([...ln].every((v) => v === 1)).toBe(true);
      const emb = await ck.read("model.embed_tokens.weight");
      const expected = initialTensor(config, "model.embed_tokens.weight", [51200, 64], 3);
      let maxErr = 0;
      for (let i = 0; i < emb.length; i++) maxErr = Math.max(maxErr, Math.abs(emb[i] - expected[i]));
      expect(maxErr).toBeLessThan(1e-4); // f16 rounding of values around 0.02
    } finally {
      await ck.close();
    }
  });

  it("same seed gives the same bytes; another seed does not", async () => {
    const config = presetConfig("tiny", { num_hidden_layers: 1 });
    const weights = async (seed: number, name: string) => {
      const out = path.join(dir, name);
      await initModel({ config, out, seed, dtype: "BF16" });
      return readFile(path.join(out, "model.safetensors"));
    };
    const a = await weights(5, "a");
    expect((await weights(5, "b")).equals(a)).toBe(true);
    expect((await weights(6, "c")).equals(a)).toBe(false);
  });

  it("refuses a non-empty output directory or a file", async () => {
    await writeFile(path.join(dir, "keep.txt"), "x");
    const config = presetConfig("tiny");
    await expect(initModel({ config, out: dir, seed: 1, dtype: "F32" })).rejects.toThrow(/output directory is not empty/);
    await expect(initModel({ config, out: path.join(dir, "keep.txt"), seed: 1, dtype: "F32" })).rejects.toThrow(/exists and is not a directory/);
    expect(await readdir(dir)).toEqual(["keep.txt"]);
  });
});

describe("tunegraph init-model", () => {
  const program = () => {
    const p = new Command("tunegraph").exitOverride();
    registerInitModel(p);
    return p;
  };

  it("documents every flag in --help", () => {
    const help = program().commands.find((c) => c.name() === "init-model")!.helpInformation();
    for (const flag of ["--preset", "--config", "--out", "--seed", "--dtype", "tiny", "phi-1_5", "phi-2", "bf16"]) expect(help).toContain(flag);
  });

  it("writes a model with config overrides and prints a one-line summary", async () => {
    const out = path.join(dir, "cli");
    await mkdir(out); // an existing empty directory is fine
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      await program().parseAsync(["init-model", "--preset", "tiny", "--config", '{"num_hidden_layers": 1}', "--out", out, "--seed", "9", "--dtype", "bf16"], { from: "user" });
      const lines = write.mock.calls.map((c) => String(c[0]));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^init-model: wrote tiny \([\d,]+ parameters, BF16, 1 file, [\d.]+ GB\) to .* in [\d.]+ s\n$/);
    } finally {
      write.mockRestore();
    }
    const ck = await Checkpoint.open(out);
    expect(ck.config.num_hidden_layers).toBe(1);
    expect(ck.dtype).toBe("BF16");
    await ck.close();
  });
});
