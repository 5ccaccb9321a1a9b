import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { presetConfig } from "../../../src/model/config.js";
import { dequantizeInt4, quantizeInt4 } from "../../../src/backends/onnx/export/int4.js";
import { INT4_BLOCK_SIZE } from "../../../src/backends/onnx/export/phi-graph.js";
import { writeOnnxModel } from "../../../src/backends/onnx/export/onnx-file.js";
import { batchLogits } from "../../helpers/phi-reference.js";
import { randomWeights } from "./random-weights.js";

describe("int4 block quantization", () => {
  it("packs two codes a byte, low nibble first, with the largest magnitude at code 0", () => {
    const w = new Float32Array(32);
    w[0] = -8; w[1] = 1; w[2] = 3; w[3] = -2.6; w[31] = 7;
    const q = quantizeInt4(w, 1, 32, 32);
    expect(q.scales[0]).toBe(1); // -8 / -8
    expect(q.packed.length).toBe(16);
    expect(q.packed[0]).toBe(0 | (9 << 4)); // codes -8+8=0, 1+8=9
    expect(q.packed[1]).toBe(11 | (5 << 4)); // 3+8=11, round(-2.6)+8=5
    expect(q.packed[15]).toBe(8 | (15 << 4));
    expect(Array.from(dequantizeInt4(q).slice(0, 4))).toEqual([-8, 1, 3, -3]);
  });

  it("keeps every value within half a step of its block, and pads a partial last block", () => {
    const n = 3, k = 40; // 2 blocks, the second one 8 values long
    const w = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    const q = quantizeInt4(w, n, k, 32);
    expect(q.blocks).toBe(2);
    expect(q.packed.length).toBe(n * 2 * 16);
    const back = dequantizeInt4(q);
    for (let i = 0; i < w.length; i++) {
      const scale = Math.abs(q.scales[Math.floor(i / k) * 2 + Math.floor((i % k) / 32)]);
      expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(scale / 2 + 1e-6);
    }
    expect(q.packed[(0 * 2 + 1) * 16 + 15]).toBe(0x88); // padding codes decode to 0
  });
});

describe("int4 Phi graph (MatMulNBits, accuracy_level 4)", () => {
  it("runs on ORT and stays within 3% of the logits of its own dequantized weights", async () => {
    const config = presetConfig("tiny", { vocab_size: 97, num_hidden_layers: 2, max_position_embeddings: 64 });
    const weights = randomWeights(config, 3);
    const dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    try {
      const { modelPath } = await writeOnnxModel(weights, dir, { precision: "int4", kvCache: "float32" });
      const session = await ort.InferenceSession.create(modelPath);
      const ids = [[4, 50, 2, 77, 31]];
      const pos = [[0, 1, 2, 3, 4]];
      const mask = [[1, 1, 1, 1, 1]];
      const i64 = (r: number[][]) => new ort.Tensor("int64", BigInt64Array.from(r.flat().map(BigInt)), [1, r[0].length]);
      const feeds: Record<string, ort.Tensor> = { input_ids: i64(ids), attention_mask: i64(mask), position_ids: i64(pos) };
      for (let i = 0; i < config.num_hidden_layers; i++) {
        for (const kind of ["key", "value"]) feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor("float32", new Float32Array(0), [1, 4, 0, 16]);
      }
      const logits = (await session.run(feeds)).logits.data as Float32Array;
      await session.release();

      // the reference with every linear weight replaced by what the int4 blocks decode to
      const dequantized = new Map(weights.tensors);
      for (const [name, t] of weights.tensors) {
        if (!name.endsWith(".weight") || name.includes("layernorm") || name.includes("embed_tokens")) continue;
        const k = name.includes("fc2") ? config.intermediate_size : config.hidden_size;
        dequantized.set(name, dequantizeInt4(quantizeInt4(t, t.length / k, k, INT4_BLOCK_SIZE)));
      }
      const ref = batchLogits(config, dequantized, ids, mask, pos);
      const fp32 = batchLogits(config, weights.tensors, ids, mask, pos);
      const rel = (a: Float32Array, b: Float32Array) => {
        let diff = 0, norm = 0;
        for (let i = 0; i < a.length; i++) { diff += (a[i] - b[i]) ** 2; norm += b[i] ** 2; }
        return Math.sqrt(diff / norm);
      };
      expect(rel(logits, ref)).toBeLessThan(0.03);
      // and the quantization itself moves the logits, which is what the tolerance above is about
      expect(rel(ref, fp32)).toBeGreaterThan(1e-3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
