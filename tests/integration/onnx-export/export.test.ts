import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env, pipeline, type TextGenerationPipeline } from "@huggingface/transformers";
import { presetConfig } from "../../../src/model/config.js";
import { Checkpoint } from "../../../src/model/checkpoint.js";
import { initModel } from "../../../src/model/init.js";
import { PhiTokenizer } from "../../../src/model/tokenizer.js";
import { exportModel } from "../../../src/backends/onnx/export/export.js";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { PhiModel } from "../../../src/backends/tfjs/phi.js";

const onnx = onnxProto.onnx;
// the tiny preset (real 51200-row vocabulary, built-in phi-2 tokenizer), weights large enough for decisive argmaxes
const config = presetConfig("tiny", { initializer_range: 0.15 });
const L = config.num_hidden_layers, H = config.num_attention_heads, D = config.hidden_size / H, V = config.vocab_size;
let root: string, ckptDir: string, fp32Dir: string;

const i64 = (rows: number[][]) => new ort.Tensor("int64", BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
function pastFeeds(prev: ort.InferenceSession.OnnxValueMapType | null, batch: number, kv16 = false): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < L; i++) {
    for (const kind of ["key", "value"]) {
      feeds[`past_key_values.${i}.${kind}`] = prev ? (prev[`present.${i}.${kind}`] as ort.Tensor) : kv16 ? new ort.Tensor("float16", new Uint16Array(0), [batch, H, 0, D]) : new ort.Tensor("float32", new Float32Array(0), [batch, H, 0, D]);
    }
  }
  return feeds;
}

/** Plain greedy decoding over the exported session with its KV cache. */
async function greedy(session: ort.InferenceSession, prompt: number[], maxNew: number, eos: number, kv16 = false): Promise<number[]> {
  const ids = [...prompt];
  let out = await session.run({ input_ids: i64([prompt]), attention_mask: i64([prompt.map(() => 1)]), position_ids: i64([prompt.map((_, i) => i)]), ...pastFeeds(null, 1, kv16) });
  const generated: number[] = [];
  for (let step = 0; step < maxNew; step++) {
    const logits = out.logits.data as Float32Array;
    const last = logits.subarray(logits.length - V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
    generated.push(best);
    if (best === eos) break;
    ids.push(best);
    out = await session.run({ input_ids: i64([[best]]), attention_mask: i64([ids.map(() => 1)]), position_ids: i64([[ids.length - 1]]), ...pastFeeds(out, 1) });
  }
  return generated;
}

function maxRelError(a: Float32Array, b: Float32Array): number {
  let diff = 0, ref = 0;
  for (let i = 0; i < a.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); ref = Math.max(ref, Math.abs(b[i])); }
  return diff / ref;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  ckptDir = path.join(root, "ckpt");
  fp32Dir = path.join(root, "fp32");
  await initModel({ config, out: ckptDir, seed: 11, dtype: "F32" });
  await exportModel(ckptDir, fp32Dir, { precision: "fp32" });
});
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

describe("exportModel", () => {
  it("writes the transformers.js / optimum directory layout", async () => {
    expect((await readdir(fp32Dir)).sort()).toEqual(expect.arrayContaining(["config.json", "generation_config.json", "onnx", "tokenizer.json", "tokenizer_config.json"]));
    expect(await readdir(path.join(fp32Dir, "onnx"))).toEqual(["model.onnx"]);
    const json = JSON.parse(await readFile(path.join(fp32Dir, "config.json"), "utf8"));
    expect(json).toMatchObject({ model_type: "phi", hidden_size: 64, num_hidden_layers: 2 });
  });

  it("gives the tfjs forward's logits (fp32, within 1e-4 relative), padded batch included", async () => {
    await initEngine("cpu");
    const ckpt = await Checkpoint.open(ckptDir);
    const model = await PhiModel.load(ckpt.config, (n) => ckpt.read(n));
    await ckpt.close();
    const inputIds = [[50256, 40, 588, 3290, 13], [0, 0, 7454, 2402, 257]];
    const attentionMask = [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]];
    const positionIds = [[0, 1, 2, 3, 4], [1, 1, 0, 1, 2]];
    const expected = model.forward({ inputIds, attentionMask, positionIds });
    const ref = (await expected.data()) as Float32Array;
    expected.dispose();
    const session = await ort.InferenceSession.create(path.join(fp32Dir, "onnx", "model.onnx"));
    const out = await session.run({ input_ids: i64(inputIds), attention_mask: i64(attentionMask), position_ids: i64(positionIds), ...pastFeeds(null, 2) });
    await session.release();
    const got = out.logits.data as Float32Array;
    // padding positions are garbage in both; compare the real tokens
    const real = [0, 1, 2, 3, 4, 7, 8, 9];
    for (const t of real) expect(maxRelError(got.subarray(t * V, (t + 1) * V), ref.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-4);
  });

  it.each([["fp32", false], ["int4", true]] as const)("runs unmodified in transformers.js' text-generation pipeline (%s) with the same greedy tokens as our own loop", async (precision, kv16) => {
    const dir = path.join(root, `pipeline-${precision}`);
    await exportModel(ckptDir, dir, { precision, kvCache: kv16 ? "float16" : "float32" });
    env.allowRemoteModels = false;
    env.localModelPath = root;
    const generator = (await pipeline("text-generation", `pipeline-${precision}`, { dtype: "fp32", device: "cpu" })) as TextGenerationPipeline;
    const prompt = "### Human: Tell me about llamas.### Assistant:";
    const tokenizer = await PhiTokenizer.fromDir(dir);
    const promptIds = tokenizer.encode(prompt);
    const result = await generator(prompt, { max_new_tokens: 12, do_sample: false, return_full_text: false });
    await generator.dispose();
    const session = await ort.InferenceSession.create(path.join(dir, "onnx", "model.onnx"));
    const ours = await greedy(session, promptIds, 12, tokenizer.eosTokenId, kv16);
    await session.release();
    expect(ours.length).toBeGreaterThan(0);
    const text = (result as { generated_text: string }[])[0].generated_text;
    expect(text).toBe(tokenizer.decode(ours.filter((t) => t !== tokenizer.eosTokenId)));
  });

  it("writes external data when asked, loadable by ORT and by transformers.js, same logits", async () => {
    const dir = path.join(root, "external");
    const res = await exportModel(ckptDir, dir, { precision: "fp32", externalData: true });
    expect((await readdir(path.join(dir, "onnx"))).sort()).toEqual(["model.onnx", "model.onnx_data"]);
    expect(res.sizeBytes).toBeGreaterThan(config.vocab_size * config.hidden_size * 8);
    const feeds = { input_ids: i64([[1, 2, 3]]), attention_mask: i64([[1, 1, 1]]), position_ids: i64([[0, 1, 2]]), ...pastFeeds(null, 1) };
    const [a, b] = [await ort.InferenceSession.create(res.modelPath), await ort.InferenceSession.create(path.join(fp32Dir, "onnx", "model.onnx"))];
    expect(Array.from((await a.run(feeds)).logits.data as Float32Array)).toEqual(Array.from((await b.run(feeds)).logits.data as Float32Array));
    await Promise.all([a.release(), b.release()]);
    env.allowRemoteModels = false;
    env.localModelPath = root;
    const generator = (await pipeline("text-generation", "external", { dtype: "fp32", device: "cpu" })) as TextGenerationPipeline;
    const out = await generator("Hello", { max_new_tokens: 3, do_sample: false });
    await generator.dispose();
    expect((out as { generated_text: string }[])[0].generated_text.startsWith("Hello")).toBe(true);
  });

  it("exports int4 (MatMulNBits) close to fp32, and refuses bad input", async () => {
    const dir = path.join(root, "int4");
    const res = await exportModel(ckptDir, dir, { precision: "int4" });
    const fp32Size = (await readFile(path.join(fp32Dir, "onnx", "model.onnx"))).length;
    expect(res.precision).toBe("int4");
    expect(res.sizeBytes).toBeLessThan(fp32Size); // only the 6 small linears per layer and lm_head shrink; the embedding stays fp32
    const [q, f] = [await ort.InferenceSession.create(res.modelPath), await ort.InferenceSession.create(path.join(fp32Dir, "onnx", "model.onnx"))];
    const ids = [[50256, 40, 588, 3290, 13, 7454, 2402, 257]];
    const feeds = { input_ids: i64(ids), attention_mask: i64([ids[0].map(() => 1)]), position_ids: i64([ids[0].map((_, i) => i)]) };
    const quantized = await q.run({ ...feeds, ...pastFeeds(null, 1) });
    expect(quantized["present.0.key"].type).toBe("float32"); // the KV cache is float32 unless asked otherwise
    const [lq, lf] = [quantized.logits.data as Float32Array, (await f.run({ ...feeds, ...pastFeeds(null, 1) })).logits.data as Float32Array];
    await Promise.all([q.release(), f.release()]);
    let diff = 0, norm = 0;
    for (let i = 0; i < lf.length; i++) { diff += (lq[i] - lf[i]) ** 2; norm += lf[i] ** 2; }
    // 4-bit blocks put ~9% RMS noise on each random Gaussian matrix, compounded over the layers (measured 0.18);
    // int4.test.ts pins the op itself to within 3% of its dequantized weights
    expect(Math.sqrt(diff / norm)).toBeLessThan(0.3);
    await expect(exportModel(ckptDir, path.join(root, "x"), { precision: "fp16" as never })).rejects.toThrow(/unsupported precision "fp16"/);
    await expect(exportModel(ckptDir, path.join(root, "x"), { precision: "int4", blockSize: 48 })).rejects.toThrow(/int4 block size 48: expected one of 16, 32, 64, 128/);
    expect(existsSync(path.join(root, "x"))).toBe(false); // refused before anything is written
    await expect(exportModel(ckptDir, dir, { precision: "fp32" })).rejects.toThrow(/output directory is not empty/);
    await expect(exportModel(path.join(root, "nope"), path.join(root, "y"), { precision: "fp32" })).rejects.toThrow(/no such checkpoint directory/);
  });

  it("exports int4 with a larger block: fewer scale bytes, the block in every MatMulNBits and in the metadata", async () => {
    // hidden 64: one block of 64 per row of K instead of two of 32
    const [b32, b64] = [path.join(root, "int4-b32"), path.join(root, "int4-b64")];
    const [r32, r64] = [await exportModel(ckptDir, b32, { precision: "int4", blockSize: 32 }), await exportModel(ckptDir, b64, { precision: "int4", blockSize: 64 })];
    expect(r64.sizeBytes).toBeLessThan(r32.sizeBytes);
    const model = onnx.ModelProto.decode(await readFile(r64.modelPath));
    const blocks = model.graph!.node!.filter((n) => n.opType === "MatMulNBits").map((n) => Number(n.attribute!.find((a) => a.name === "block_size")!.i));
    expect(blocks.length).toBe(6 * L + 1);
    expect(new Set(blocks)).toEqual(new Set([64]));
    expect(JSON.parse(model.metadataProps!.find((p) => p.key === "tunegraph.int4")!.value!)).toMatchObject({ bits: 4, block_size: 64 });
    // either block size stays close to fp32 (the bound of the int4 test above)
    const ids = [[50256, 40, 588, 3290]];
    const feeds = { input_ids: i64(ids), attention_mask: i64([ids[0].map(() => 1)]), position_ids: i64([ids[0].map((_, i) => i)]), ...pastFeeds(null, 1) };
    const logits = async (file: string) => {
      const s = await ort.InferenceSession.create(file);
      const out = (await s.run(feeds)).logits.data as Float32Array;
      await s.release();
      return out;
    };
    const [l32, l64, lf] = [await logits(r32.modelPath), await logits(r64.modelPath), await logits(path.join(fp32Dir, "onnx", "model.onnx"))];
    let d32 = 0, d64 = 0, norm = 0;
    for (let i = 0; i < lf.length; i++) { d32 += (l32[i] - lf[i]) ** 2; d64 += (l64[i] - lf[i]) ** 2; norm += lf[i] ** 2; }
    expect(Math.sqrt(d64 / norm)).toBeLessThan(0.3);
    expect(d64).not.toBe(d32); // other scales, other rounding
  });
});
