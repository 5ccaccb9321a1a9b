import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { getLlama, LlamaLogLevel, readGgufFileInfo, type Llama, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnnxBackend } from "../../../src/backends/onnx/backend.js";
import { exportModel } from "../../../src/backends/onnx/export/export.js";
import { presetConfig } from "../../../src/model/config.js";
import { exportGguf, ggufFileName, type GgufQuant } from "../../../src/model/gguf/phi2.js";
import { initModel } from "../../../src/model/init.js";
import { mergeAdapter } from "../../../src/model/merge.js";
import { loraConfig, writeAdapter } from "../../../src/model/peft.js";
import { linearFeatures, modulePath } from "../../../src/model/phi-layout.js";
import { Rng } from "../../../src/model/random.js";
import { PhiTokenizer } from "../../../src/model/tokenizer.js";

// A merged tiny Phi (the real phi-2 vocabulary, a random rank-4 q/v adapter merged in), exported to fp32 ONNX and to
// GGUF, then run by llama.cpp through node-llama-cpp's prebuilt binaries.
const config = presetConfig("tiny");
const PROMPT = "Once upon a time, in a quiet town by the sea,";
const NEW_TOKENS = 16;

let root: string, llama: Llama;
const gguf = (q: GgufQuant) => path.join(root, `gguf-${q}`, ggufFileName(q));

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "tg-gguf-"));
  await initModel({ config, out: path.join(root, "base"), seed: 11, dtype: "F32" });
  const rng = new Rng(3, "adapter");
  const weights = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const m of ["q_proj", "v_proj"] as const) {
      const [inF, outF] = linearFeatures(config, m);
      weights.push({ module: modulePath(l, m), inFeatures: inF, outFeatures: outF, A: rng.fillNormal(new Float32Array(4 * inF), 0.1), B: rng.fillNormal(new Float32Array(outF * 4), 0.1) });
    }
  }
  await writeAdapter(path.join(root, "adapter"), loraConfig({ r: 4, loraAlpha: 8, loraDropout: 0, targetModules: ["q_proj", "v_proj"] }), weights);
  await mergeAdapter(path.join(root, "base"), path.join(root, "adapter"), path.join(root, "merged"));
  await exportModel(path.join(root, "merged"), path.join(root, "onnx"), { precision: "fp32" });
  for (const q of ["f16", "q8_0", "q4_0"] as const) await exportGguf(path.join(root, "merged"), path.join(root, `gguf-${q}`), q);
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
}, 300_000);

afterAll(async () => {
  await llama?.dispose();
  await rm(root, { recursive: true, force: true });
});

/** Greedy continuation of `prompt` (token ids) by llama.cpp. */
async function llamaCppGreedy(file: string, prompt: number[], n: number): Promise<number[]> {
  const model = await llama.loadModel({ modelPath: file });
  const context = await model.createContext({ contextSize: 128, threads: 2 });
  try {
    const out: number[] = [];
    for await (const token of context.getSequence().evaluate(prompt as Token[], { temperature: 0 })) {
      out.push(token);
      if (out.length === n) break;
    }
    return out;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

describe("GGUF export, read back by llama.cpp", () => {
  it("writes llama.cpp's phi2 architecture: metadata keys, tensor names, shapes and types", async () => {
    const info = await readGgufFileInfo(gguf("q4_0"), { logWarnings: false });
    const md = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(md.general.architecture).toBe("phi2");
    expect(md.general.file_type).toBe(2);
    expect(md.phi2).toMatchObject({
      context_length: 512, embedding_length: 64, feed_forward_length: 256, block_count: 2,
      attention: { head_count: 4, head_count_kv: 4, layer_norm_epsilon: expect.closeTo(1e-5, 10) }, rope: { dimension_count: 8 },
    });
    const tok = md.tokenizer.ggml as Record<string, unknown>;
    expect([tok.model, tok.pre, tok.bos_token_id, tok.eos_token_id, tok.add_bos_token]).toEqual(["gpt2", "phi-2", 50256, 50256, false]);
    const tokens = tok.tokens as string[], types = tok.token_type as number[];
    expect(tokens.length).toBe(51200);
    expect([tokens[0], tokens[50256], tokens[50257], tokens[51199]]).toEqual(["!", "<|endoftext|>", " ".repeat(31), "[PAD51199]"]);
    expect([types[0], types[50256], types[50257], types[51199]]).toEqual([1, 3, 4, 5]); // NORMAL, CONTROL, USER_DEFINED, UNUSED
    expect((tok.merges as string[])[0]).toBe("Ġ t");

    const tensors = new Map(info.tensorInfo!.map((t) => [t.name, t]));
    expect(tensors.size).toBe(1 + 2 * (2 + 6 * 2) + 4);
    expect(tensors.get("token_embd.weight")).toMatchObject({ dimensions: [64, 51200], ggmlType: 2 });
    expect(tensors.get("blk.1.ffn_up.weight")).toMatchObject({ dimensions: [64, 256], ggmlType: 2 });
    expect(tensors.get("blk.1.ffn_down.weight")).toMatchObject({ dimensions: [256, 64], ggmlType: 2 });
    expect(tensors.get("blk.0.attn_output.bias")).toMatchObject({ dimensions: [64], ggmlType: 0 });
    for (const n of ["blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_k.bias", "blk.0.attn_v.weight", "output_norm.bias", "output.weight", "output.bias"]) expect(tensors.has(n), n).toBe(true);
  });

  it("llama.cpp tokenizes like tunegraph, and its greedy tokens on the f16 GGUF equal those of the fp32 ONNX export", async () => {
    const tokenizer = PhiTokenizer.builtin();
    const model = await llama.loadModel({ modelPath: gguf("f16") });
    for (const text of [PROMPT, "QLoRA  fine-tunes\tphi-2 on OpenAssistant:\n\n    indented code;\t\tdone."]) {
      expect(model.tokenize(text)).toEqual(tokenizer.encode(text));
    }
    await model.dispose();

    const backend = new OnnxBackend({ threads: 2 });
    try {
      const ours = await (await backend.load(path.join(root, "onnx"))).generate({ prompt: PROMPT, maxNewTokens: NEW_TOKENS, temperature: 0 });
      expect(ours.tokens.length).toBe(NEW_TOKENS);
      expect(new Set(ours.tokens).size).toBeGreaterThan(4); // a continuation, not one token repeated
      expect(await llamaCppGreedy(gguf("f16"), tokenizer.encode(PROMPT), NEW_TOKENS)).toEqual(ours.tokens);
    } finally {
      await backend.close();
    }
  }, 180_000);

  it("q8_0 and q4_0 load and generate", async () => {
    const prompt = PhiTokenizer.builtin().encode(PROMPT);
    for (const q of ["q8_0", "q4_0"] as const) {
      const tokens = await llamaCppGreedy(gguf(q), prompt, 8);
      expect(tokens.length, q).toBe(8);
      expect(tokens.every((t) => t >= 0 && t < config.vocab_size), q).toBe(true);
    }
  }, 180_000);
});

describe("GGUF export of matrices whose rows are not whole blocks of 32", () => {
  it("keeps those in F16 (as convert_hf_to_gguf.py does) and quantizes the rest; llama.cpp runs the mix", async () => {
    const odd = presetConfig("tiny", { hidden_size: 48, intermediate_size: 192 }); // rows of 48: F16; fc2's rows of 192: Q4_0
    await initModel({ config: odd, out: path.join(root, "odd"), seed: 4, dtype: "F32" });
    const r = await exportGguf(path.join(root, "odd"), path.join(root, "odd-q4_0"), "q4_0");
    expect(r.types).toEqual({ F16: 1 + 2 * 5 + 1, Q4_0: 2, F32: 19 }); // embedding, q k v dense fc1 ×2, lm_head; fc2 ×2; vectors
    const tensors = new Map((await readGgufFileInfo(r.path, { logWarnings: false })).tensorInfo!.map((t) => [t.name, t.ggmlType]));
    expect([tensors.get("blk.0.ffn_up.weight"), tensors.get("blk.0.ffn_down.weight"), tensors.get("output.weight")]).toEqual([1, 2, 1]);
    expect(await llamaCppGreedy(r.path, PhiTokenizer.builtin().encode(PROMPT), 4)).toHaveLength(4);
  }, 180_000);
});

describe("GGUF export refuses what it cannot write", () => {
  it("names an unknown quantization, a non-Phi checkpoint and a tokenizer that is not byte-level BPE", async () => {
    await expect(exportGguf(path.join(root, "merged"), path.join(root, "never"), "q5_k")).rejects.toThrow(/unsupported GGUF quantization "q5_k": expected one of f16, q8_0, q4_0/);
    const llamaDir = path.join(root, "llama-ckpt");
    await initModel({ config: presetConfig("tiny", { vocab_size: 300 }), out: llamaDir, seed: 1, dtype: "F32" });
    await writeFile(path.join(llamaDir, "config.json"), JSON.stringify({ ...presetConfig("tiny", { vocab_size: 300 }), model_type: "llama" }));
    await expect(exportGguf(llamaDir, path.join(root, "never"), "f16")).rejects.toThrow(/model_type "llama" is not supported: expected "phi"/);

    const wordLevel = path.join(root, "wordlevel-ckpt");
    await initModel({ config: presetConfig("tiny", { vocab_size: 300 }), out: wordLevel, seed: 1, dtype: "F32" });
    await writeFile(path.join(wordLevel, "tokenizer.json"), JSON.stringify({ model: { type: "WordLevel", vocab: { a: 0 } }, pre_tokenizer: { type: "Whitespace" } }));
    await expect(exportGguf(wordLevel, path.join(root, "never"), "f16")).rejects.toThrow(/tokenizer\.json: GGUF export writes a gpt2 \(byte-level BPE\) tokenizer; this one is "WordLevel"/);

    // the real phi-2 vocabulary does not fit a 300-row embedding
    const small = path.join(root, "small-vocab");
    await initModel({ config: presetConfig("tiny", { vocab_size: 300 }), out: small, seed: 1, dtype: "F32" });
    await expect(exportGguf(small, path.join(root, "never"), "f16")).rejects.toThrow(/has id \d+, but the model has 300 embedding rows \(vocab_size\)/);
  });
});
