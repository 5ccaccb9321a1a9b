import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { presetConfig, type PhiConfig } from "../../../src/model/config.js";
import { Checkpoint, expectedTensors, writeCheckpoint } from "../../../src/model/checkpoint.js";
import { SafetensorsFile, writeSafetensors, type TensorData } from "../../../src/model/safetensors.js";
import { UserError } from "../../../src/model/errors.js";

// small enough to write in milliseconds: vocab 96, hidden 32, 2 layers
const small = (over: Record<string, unknown> = {}): PhiConfig =>
  presetConfig("tiny", { vocab_size: 96, hidden_size: 32, intermediate_size: 64, num_attention_heads: 2, ...over });

/** Deterministic values exactly representable in F16 and BF16 (multiples of 1/64 below 2). */
function values(name: string, n: number): Float32Array {
  const out = new Float32Array(n);
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 1000;
  for (let i = 0; i < n; i++) out[i] = (((i * 7 + h) % 128) - 64) / 64;
  return out;
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const produce = (c: PhiConfig) => {
  const shapes = new Map(expectedTensors(c).map((t) => [t.name, t.shape]));
  return async (name: string) => values(name, size(shapes.get(name)!));
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function openError(d: string): Promise<UserError> {
  const err = await Checkpoint.open(d).then(async (c) => { await c.close(); return undefined; }, (e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

/** An HF-style directory whose single model.safetensors holds `tensors` (config.json from `c`). */
async function handMade(c: PhiConfig, edit: (ts: TensorData[]) => TensorData[]): Promise<string> {
  await writeFile(path.join(dir, "config.json"), JSON.stringify(c));
  const ts: TensorData[] = expectedTensors(c).map((t) => ({ name: t.name, dtype: "F32", shape: t.shape, data: values(t.name, size(t.shape)) }));
  await writeSafetensors(path.join(dir, "model.safetensors"), edit(ts), { format: "pt" });
  return dir;
}

describe("expectedTensors", () => {
  it("names and shapes every tensor as transformers saves PhiForCausalLM", () => {
    const c = presetConfig("phi-2");
    const ts = expectedTensors(c);
    const byName = new Map(ts.map((t) => [t.name, t.shape]));
    expect(ts.length).toBe(1 + 32 * 14 + 2 + 2); // per layer: 2 layer-norm + 6 linear × (weight, bias)
    expect(byName.get("model.embed_tokens.weight")).toEqual([51200, 2560]);
    expect(byName.get("model.layers.31.self_attn.dense.weight")).toEqual([2560, 2560]);
    expect(byName.get("model.layers.0.mlp.fc1.weight")).toEqual([10240, 2560]);
    expect(byName.get("model.layers.0.mlp.fc2.weight")).toEqual([2560, 10240]);
    expect(byName.get("model.layers.5.input_layernorm.bias")).toEqual([2560]);
    expect(byName.get("lm_head.bias")).toEqual([51200]);
    expect(ts.reduce((a, t) => a + size(t.shape), 0)).toBe(2_779_683_840);
    expect(expectedTensors({ ...c, tie_word_embeddings: true }).some((t) => t.name === "lm_head.weight")).toBe(false);
  });
});

describe("writeCheckpoint + Checkpoint.open", () => {
  it("writes one model.safetensors with config, generation config and tokenizer, and reads it back", async () => {
    const c = small();
    const written = await writeCheckpoint(dir, c, produce(c), { dtype: "F16" });
    expect(written.files).toEqual(["model.safetensors"]);
    const files = await readdir(dir);
    expect(files).toEqual(expect.arrayContaining(["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]));
    expect(files).not.toContain("model.safetensors.index.json");
    const cfg = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8"));
    expect(cfg).toMatchObject({ model_type: "phi", architectures: ["PhiForCausalLM"], torch_dtype: "float16", hidden_size: 32 });
    expect(JSON.parse(await readFile(path.join(dir, "generation_config.json"), "utf8"))).toMatchObject({ bos_token_id: 50256, eos_token_id: 50256 });
    const st = await SafetensorsFile.open(path.join(dir, "model.safetensors"));
    expect(st.metadata).toEqual({ format: "pt" });
    await st.close();

    const ck = await Checkpoint.open(dir);
    try {
      expect(ck.dtype).toBe("F16");
      expect(ck.config).toEqual({ ...c, torch_dtype: "float16" });
      expect(ck.names()).toEqual(expectedTensors(c).map((t) => t.name));
      expect(ck.shape("model.layers.1.mlp.fc1.weight")).toEqual([64, 32]);
      expect(await ck.read("model.layers.1.mlp.fc1.weight")).toEqual(values("model.layers.1.mlp.fc1.weight", 64 * 32));
      expect(await ck.read("lm_head.bias")).toEqual(values("lm_head.bias", 96));
      await expect(ck.read("model.layers.9.mlp.fc1.weight")).rejects.toThrow(/no tensor "model\.layers\.9\.mlp\.fc1\.weight"/);
    } finally {
      await ck.close();
    }
  });

  it("shards like HF when the weights exceed maxShardBytes, and reads the shards back", async () => {
    const c = small();
    const written = await writeCheckpoint(dir, c, produce(c), { dtype: "BF16", maxShardBytes: 8000 });
    const n = written.files.length;
    expect(n).toBeGreaterThan(2);
    expect(written.files[0]).toBe(`model-00001-of-${String(n).padStart(5, "0")}.safetensors`);
    const index = JSON.parse(await readFile(path.join(dir, "model.safetensors.index.json"), "utf8"));
    const total = expectedTensors(c).reduce((a, t) => a + 2 * size(t.shape), 0);
    expect(index.metadata.total_size).toBe(total);
    expect(Object.keys(index.weight_map).sort()).toEqual(expectedTensors(c).map((t) => t.name).sort());
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(written.files));
    for (const f of written.files) {
      const st = await SafetensorsFile.open(path.join(dir, f));
      const bytes = st.names().reduce((a, name) => a + 2 * size(st.info(name).shape), 0);
      // a shard only exceeds the limit when it holds one tensor that alone is larger
      expect(bytes <= 8000 || st.names().length === 1).toBe(true);
      await st.close();
    }
    const ck = await Checkpoint.open(dir);
    try {
      expect(ck.dtype).toBe("BF16");
      for (const name of ck.names()) expect(await ck.read(name)).toEqual(values(name, size(ck.shape(name))));
    } finally {
      await ck.close();
    }
  });

  it("reads a tied lm_head.weight as the embedding", async () => {
    const c = small({ tie_word_embeddings: true });
    await writeCheckpoint(dir, c, produce(c), { dtype: "F32" });
    const st = await SafetensorsFile.open(path.join(dir, "model.safetensors"));
    expect(st.has("lm_head.weight")).toBe(false);
    await st.close();
    const ck = await Checkpoint.open(dir);
    expect(ck.has("lm_head.weight")).toBe(true);
    expect(ck.shape("lm_head.weight")).toEqual([96, 32]);
    expect(await ck.read("lm_head.weight")).toEqual(await ck.read("model.embed_tokens.weight"));
    await ck.close();
  });

  it("copies tokenizer files from tokenizerFrom", async () => {
    const src = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    try {
      await writeFile(path.join(src, "tokenizer.json"), '{"marker": 1}');
      const c = small();
      await writeCheckpoint(dir, c, produce(c), { dtype: "F32", tokenizerFrom: src });
      expect(await readFile(path.join(dir, "tokenizer.json"), "utf8")).toBe('{"marker": 1}');
    } finally {
      await rm(src, { recursive: true, force: true });
    }
  });
});

describe("Checkpoint.open errors", () => {
  it("a missing tensor, with its expected shape", async () => {
    const d = await handMade(small(), (ts) => ts.filter((t) => t.name !== "model.layers.1.self_attn.v_proj.bias"));
    expect((await openError(d)).message).toMatch(/missing tensor "model\.layers\.1\.self_attn\.v_proj\.bias" \(expected shape \[32\]\)/);
  });

  it("a mis-shaped tensor, with expected and found shapes", async () => {
    const d = await handMade(small(), (ts) => ts.map((t) => t.name === "model.layers.0.mlp.fc1.weight" ? { ...t, shape: [32, 64] } : t));
    const e = await openError(d);
    expect(e.message).toContain("model.safetensors");
    expect(e.message).toMatch(/tensor "model\.layers\.0\.mlp\.fc1\.weight" has shape \[32, 64\], expected \[64, 32\]/);
  });

  it("a non-float tensor and an unexpected tensor", async () => {
    const intBias = await handMade(small(), (ts) => ts.map((t) => t.name === "lm_head.bias" ? { ...t, dtype: "I32", data: new Int32Array(96) } : t));
    expect((await openError(intBias)).message).toMatch(/tensor "lm_head\.bias" has dtype I32, expected F32, F16 or BF16/);
    const extra = await handMade(small(), (ts) => [...ts, { name: "model.layers.2.mlp.fc1.bias", dtype: "F32", shape: [64], data: new Float32Array(64) }]);
    expect((await openError(extra)).message).toMatch(/tensor "model\.layers\.2\.mlp\.fc1\.bias" is not part of PhiForCausalLM with this config\.json \(num_hidden_layers 2\)/);
  });

  it("the older remote-code layout is named as such", async () => {
    const d = await handMade(small(), (ts) => [...ts.filter((t) => !t.name.includes("self_attn")), { name: "transformer.h.0.mixer.Wqkv.weight", dtype: "F32", shape: [96, 32], data: new Float32Array(96 * 32) }]);
    expect((await openError(d)).message).toMatch(/tensor "transformer\.h\.0\.mixer\.Wqkv\.weight" is from the older remote-code Phi layout/);
    await writeFile(path.join(dir, "config.json"), JSON.stringify({ model_type: "phi-msft", n_embd: 32 }));
    expect((await openError(dir)).message).toMatch(/model_type "phi-msft".*remote-code/);
  });

  it("no weights, PyTorch-only weights, a missing directory, a bad index", async () => {
    await writeFile(path.join(dir, "config.json"), JSON.stringify(small()));
    expect((await openError(dir)).message).toMatch(/no model\.safetensors or model\.safetensors\.index\.json/);
    await writeFile(path.join(dir, "pytorch_model.bin"), "x");
    expect((await openError(dir)).message).toMatch(/only PyTorch \.bin weights found/);
    expect((await openError(path.join(dir, "nope"))).message).toMatch(/no such checkpoint directory/);
    await writeSafetensors(path.join(dir, "model-00001-of-00001.safetensors"), [{ name: "lm_head.bias", dtype: "F32", shape: [96], data: new Float32Array(96) }]);
    await writeFile(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: { "model.embed_tokens.weight": "model-00001-of-00001.safetensors" } }));
    expect((await openError(dir)).message).toMatch(/weight_map puts tensor "model\.embed_tokens\.weight" in model-00001-of-00001\.safetensors, which does not contain it/);
  });
});
