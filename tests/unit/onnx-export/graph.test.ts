import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presetConfig } from "../../../src/model/config.js";
import { onnx } from "../../../src/backends/onnx/export/graph.js";
import { writeOnnxModel } from "../../../src/backends/onnx/export/onnx-file.js";
import { batchLogits } from "../../helpers/phi-reference.js";
import { randomWeights } from "./random-weights.js";

// 3 layers, head 16 with 8 rotary dims plus pass-through dims, a small vocabulary: runs in milliseconds
const config = presetConfig("tiny", { vocab_size: 97, num_hidden_layers: 3, partial_rotary_factor: 0.5, max_position_embeddings: 64 });
const weights = randomWeights(config, 7);
const L = config.num_hidden_layers, H = config.num_attention_heads, D = config.hidden_size / H, V = config.vocab_size;

let dir: string;
const VARIANTS = [
  { name: "plain", fused: false, kvCache: "float32", tol: 1e-4, cacheTol: 1e-5 },
  { name: "fused", fused: true, kvCache: "float32", tol: 1e-4, cacheTol: 1e-5 },
  { name: "plain-kv16", fused: false, kvCache: "float16", tol: 5e-3, cacheTol: 5e-3 },
  { name: "fused-kv16", fused: true, kvCache: "float16", tol: 5e-3, cacheTol: 5e-3 },
] as const;
const sessions: Record<string, ort.InferenceSession> = {};

const i64 = (rows: number[][]) => new ort.Tensor("int64", BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

function maxRelError(a: Float32Array, b: Float32Array): number {
  let maxDiff = 0, maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    maxRef = Math.max(maxRef, Math.abs(b[i]));
  }
  return maxDiff / maxRef;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  for (const v of VARIANTS) {
    const { modelPath } = await writeOnnxModel(weights, path.join(dir, v.name), { precision: "fp32", fused: v.fused, kvCache: v.kvCache });
    sessions[v.name] = await ort.InferenceSession.create(modelPath);
  }
});
afterAll(async () => {
  await Promise.all(Object.values(sessions).map((s) => s.release()));
  await rm(dir, { recursive: true, force: true });
});

describe.each(VARIANTS)("fp32 Phi graph, $name", ({ name, kvCache, tol, cacheTol }) => {
  let session: ort.InferenceSession;
  beforeAll(() => { session = sessions[name]; });
  const kvType = kvCache === "float16" ? "float16" : "float32";
  const emptyPast = (b: number) => Object.fromEntries(
    Array.from({ length: L }, (_, i) => [
      [`past_key_values.${i}.key`, new ort.Tensor(kvType, kvCache === "float16" ? new Uint16Array(0) : new Float32Array(0), [b, H, 0, D])],
      [`past_key_values.${i}.value`, new ort.Tensor(kvType, kvCache === "float16" ? new Uint16Array(0) : new Float32Array(0), [b, H, 0, D])],
    ]).flat(),
  );

  it("declares the transformers.js / optimum inputs and outputs", () => {
    expect(session.inputNames.slice(0, 3)).toEqual(["input_ids", "attention_mask", "position_ids"]);
    expect(session.inputNames).toContain(`past_key_values.${L - 1}.value`);
    expect(session.outputNames[session.outputNames.length - 1]).toBe("logits");
    expect(session.outputNames).toContain("present.0.key");
  });

  it("gives the reference logits on a full sequence", async () => {
    const ids = [[5, 17, 3, 88, 42, 9]];
    const pos = [[0, 1, 2, 3, 4, 5]];
    const mask = [[1, 1, 1, 1, 1, 1]];
    const out = await session.run({ input_ids: i64(ids), attention_mask: i64(mask), position_ids: i64(pos), ...emptyPast(1) });
    expect(out.logits.dims).toEqual([1, 6, V]);
    const ref = batchLogits(config, weights.tensors, ids, mask, pos);
    expect(maxRelError(out.logits.data as Float32Array, ref)).toBeLessThan(tol);
    expect(out["present.2.key"].dims).toEqual([1, H, 6, D]);
    expect(out["present.2.key"].type).toBe(kvType);
  });

  it("masks left padding in a batch: each row equals that row alone", async () => {
    const ids = [[0, 0, 11, 12, 13], [21, 22, 23, 24, 25]];
    const mask = [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]];
    const pos = [[1, 1, 0, 1, 2], [0, 1, 2, 3, 4]]; // HF: cumsum(mask) - 1, padding filled with 1
    const out = await session.run({ input_ids: i64(ids), attention_mask: i64(mask), position_ids: i64(pos), ...emptyPast(2) });
    const logits = out.logits.data as Float32Array;
    const alone = batchLogits(config, weights.tensors, [[11, 12, 13]], [[1, 1, 1]], [[0, 1, 2]]);
    expect(maxRelError(logits.slice(2 * V, 5 * V), alone)).toBeLessThan(tol);
    const second = batchLogits(config, weights.tensors, [ids[1]], [mask[1]], [pos[1]]);
    expect(maxRelError(logits.slice(5 * V), second)).toBeLessThan(tol);
  });

  it("prefill then decode with the KV cache equals a full recompute", async () => {
    const ids = [9, 8, 7, 6, 5, 4, 3];
    const full = await session.run({ input_ids: i64([ids]), attention_mask: i64([ids.map(() => 1)]), position_ids: i64([ids.map((_, i) => i)]), ...emptyPast(1) });
    const fullLogits = full.logits.data as Float32Array;
    let feeds: Record<string, ort.Tensor> = emptyPast(1);
    const prefix = 4;
    let out = await session.run({ input_ids: i64([ids.slice(0, prefix)]), attention_mask: i64([Array(prefix).fill(1)]), position_ids: i64([[0, 1, 2, 3]]), ...feeds });
    for (let t = prefix; t < ids.length; t++) {
      feeds = {};
      for (let i = 0; i < L; i++) {
        feeds[`past_key_values.${i}.key`] = out[`present.${i}.key`];
        feeds[`past_key_values.${i}.value`] = out[`present.${i}.value`];
      }
      out = await session.run({ input_ids: i64([[ids[t]]]), attention_mask: i64([Array(t + 1).fill(1)]), position_ids: i64([[t]]), ...feeds });
      expect(out["present.0.value"].dims).toEqual([1, H, t + 1, D]);
      expect(maxRelError(out.logits.data as Float32Array, fullLogits.slice(t * V, (t + 1) * V))).toBeLessThan(cacheTol);
    }
  });
});

describe("graph variants", () => {
  it("uses the fused com.microsoft ops only in the fused variant", async () => {
    const ops = async (variant: string) => {
      const model = onnx.ModelProto.decode(await readFile(path.join(dir, variant, "model.onnx")));
      return new Set(model.graph!.node!.map((n) => n.opType));
    };
    const fused = await ops("fused"), plain = await ops("plain");
    for (const op of ["MultiHeadAttention", "RotaryEmbedding", "SkipLayerNormalization", "FastGelu"]) expect(fused.has(op)).toBe(true);
    for (const op of ["MultiHeadAttention", "RotaryEmbedding", "SkipLayerNormalization"]) expect(plain.has(op)).toBe(false);
    expect(plain.has("Softmax")).toBe(true);
  });

  it("matches the reference at phi-2's head geometry (head 80, 32 rotary dims), fused", async () => {
    const c = presetConfig("phi-2", { hidden_size: 160, num_attention_heads: 2, intermediate_size: 64, num_hidden_layers: 1, vocab_size: 50, max_position_embeddings: 32 });
    const w = randomWeights(c, 5);
    const { modelPath } = await writeOnnxModel(w, path.join(dir, "phi2-heads"), { precision: "fp32", fused: true });
    const s = await ort.InferenceSession.create(modelPath);
    const ids = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]], pos = [ids[0].map((_, i) => i + 3)], mask = [ids[0].map(() => 1)];
    const out = await s.run({ input_ids: i64(ids), attention_mask: i64(mask), position_ids: i64(pos),
      "past_key_values.0.key": new ort.Tensor("float32", new Float32Array(0), [1, 2, 0, 80]), "past_key_values.0.value": new ort.Tensor("float32", new Float32Array(0), [1, 2, 0, 80]) });
    await s.release();
    expect(maxRelError(out.logits.data as Float32Array, batchLogits(c, w.tensors, ids, mask, pos))).toBeLessThan(1e-4);
  });
});
