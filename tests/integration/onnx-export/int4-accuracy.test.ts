import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportModel } from "../../../src/backends/onnx/export/export.js";
import { INT4_BLOCK_SIZES, type KvCacheType } from "../../../src/backends/onnx/export/phi-graph.js";
import { BatchCache } from "../../../src/backends/onnx/kv-cache.js";
import { ModelSession } from "../../../src/backends/onnx/session.js";
import { presetConfig } from "../../../src/model/config.js";
import { initModel } from "../../../src/model/init.js";

// wide enough for every block size (fc2's K is 512), weights large enough for decisive logits
const config = presetConfig("tiny", { hidden_size: 256, intermediate_size: 512, num_attention_heads: 4, initializer_range: 0.15 });
const PROMPT = [50256, 40, 588, 3290, 13, 7454, 2402, 257];
const NEXT = [318, 11, 290];
let root: string, ckptDir: string;

/** The served logits (session: in-place cache, last position) of the prompt in one step, then of each token of NEXT. */
async function servedLogits(dir: string): Promise<Float32Array[]> {
  const session = await ModelSession.open(dir, { device: "cpu", threads: 1 });
  try {
    const cache = BatchCache.empty(session.kv, 1);
    const out = [(await session.step(cache, [PROMPT], [PROMPT.map((_, i) => i)])).logits.slice()];
    for (const id of NEXT) out.push((await session.step(cache, [[id]], [[cache.lengths[0]]])).logits.slice());
    return out;
  } finally {
    await session.close();
  }
}

function relRms(got: Float32Array[], ref: Float32Array[]): number {
  let diff = 0, norm = 0;
  got.forEach((g, s) => g.forEach((x, i) => { diff += (x - ref[s][i]) ** 2; norm += ref[s][i] ** 2; }));
  return Math.sqrt(diff / norm);
}

let reference: Float32Array[];
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "tg-int4-"));
  ckptDir = path.join(root, "ckpt");
  await initModel({ config, out: ckptDir, seed: 5, dtype: "F32" });
  await exportModel(ckptDir, path.join(root, "fp32"), { precision: "fp32" });
  reference = await servedLogits(path.join(root, "fp32"));
});
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

describe("int4 exports as served, against the fp32 export", () => {
  // the bound of export.test.ts' int4 test: 4-bit blocks put ~9% RMS noise on each random Gaussian matrix, compounded
  const variants = INT4_BLOCK_SIZES.flatMap((blockSize) => (["float32", "float16"] as KvCacheType[]).map((kvCache) => [blockSize, kvCache] as const));
  it.each(variants)("block %i, %s KV cache: logits within 0.3 relative RMS over prompt and decode steps", async (blockSize, kvCache) => {
    const dir = path.join(root, `int4-b${blockSize}-${kvCache}`);
    await exportModel(ckptDir, dir, { precision: "int4", blockSize, kvCache });
    const err = relRms(await servedLogits(dir), reference);
    expect(err).toBeGreaterThan(0); // quantized: not the fp32 model
    expect(err).toBeLessThan(0.3);
  });

  it("fp32 with a float16 KV cache stays within float16's rounding of the float32 cache", async () => {
    const dir = path.join(root, "fp32-kv16");
    await exportModel(ckptDir, dir, { precision: "fp32", kvCache: "float16" });
    expect(relRms(await servedLogits(dir), reference)).toBeLessThan(2e-3);
  });
});
