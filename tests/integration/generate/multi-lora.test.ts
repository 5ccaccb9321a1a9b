import { readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdapterCache } from "../../../src/backends/onnx/adapter-cache.js";
import { OnnxBackend } from "../../../src/backends/onnx/backend.js";
import { exportModel } from "../../../src/backends/onnx/export/export.js";
import { BatchCache } from "../../../src/backends/onnx/kv-cache.js";
import { LoraStack } from "../../../src/backends/onnx/lora-stack.js";
import { ModelSession } from "../../../src/backends/onnx/session.js";
import type { GenerationRequest, GenerationResult } from "../../../src/backends/types.js";
import { presetConfig } from "../../../src/model/config.js";
import { initModel } from "../../../src/model/init.js";
import { mergeAdapter } from "../../../src/model/merge.js";
import { ADAPTER_WEIGHTS } from "../../../src/model/peft.js";
import { LINEAR_MODULES } from "../../../src/model/phi-layout.js";
import { randomAdapter, type AdapterSpec } from "../../helpers/random-adapter.js";

const config = presetConfig("tiny", { initializer_range: 0.15 });
// rank 4 beside rank 16 (with rsLoRA), and one on dense and fc2
const ADAPTERS: Record<string, AdapterSpec> = {
  qv4: { r: 4, alpha: 8, targets: ["q_proj", "v_proj"], seed: 11 },
  rslora16: { r: 16, alpha: 16, targets: ["q_proj", "k_proj", "v_proj"], rslora: true, seed: 12, std: 0.06 },
  denseFc2: { r: 8, alpha: 16, targets: ["dense", "fc2"], seed: 13 },
};
const NAMES = Object.keys(ADAPTERS);

let root: string;
const dir = (...p: string[]) => path.join(root, ...p);
let backend: OnnxBackend;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "tg-multilora-"));
  await initModel({ config, out: dir("base"), seed: 3, dtype: "F32" });
  await exportModel(dir("base"), dir("plain"), { precision: "fp32" });
  await exportModel(dir("base"), dir("ready"), { precision: "fp32", lora: { targets: [...LINEAR_MODULES], maxRank: 16 } });
  for (const name of NAMES) {
    await randomAdapter(dir("adapters", name), config, ADAPTERS[name]);
    await mergeAdapter(dir("base"), dir("adapters", name), dir("merged", name));
    await exportModel(dir("merged", name), dir("merged-export", name), { precision: "fp32" });
  }
  backend = new OnnxBackend({ threads: 1, maxBatchSize: 8, cacheSize: 8 });
}, 240_000);

afterAll(async () => {
  await backend?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const PROMPT = "Adapters are chosen per request, and the base stays as it is";

/** Last-position logits of `prompt` (prefill in one step) on an export, with one adapter or none. */
async function logits(exportDir: string, adapterDir?: string): Promise<Float32Array> {
  const session = await ModelSession.open(exportDir, { device: "cpu", threads: 1 });
  try {
    const ids = session.tokenizer.encode(PROMPT);
    let lora;
    if (adapterDir) {
      const adapter = await new AdapterCache(session.config, session.lora!).acquire(adapterDir);
      const stack = LoraStack.build(session.config, session.lora!, [adapter]);
      lora = { stack, indices: [stack.slotOf(adapter)] };
    }
    const out = await session.step(BatchCache.empty(session.kv, 1), [ids], [ids.map((_, i) => i)], lora);
    return out.logits.slice();
  } finally {
    await session.close();
  }
}

function maxRelError(got: Float32Array, ref: Float32Array): number {
  let scale = 0, worst = 0;
  for (const x of ref) scale = Math.max(scale, Math.abs(x));
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
  return worst / scale;
}

function relRms(got: Float32Array, ref: Float32Array): number {
  let diff = 0, norm = 0;
  for (let i = 0; i < ref.length; i++) { diff += (got[i] - ref[i]) ** 2; norm += ref[i] ** 2; }
  return Math.sqrt(diff / norm);
}

const greedy = (adapter?: string): GenerationRequest => ({ prompt: PROMPT, maxNewTokens: 12, adapter });

describe("multi-LoRA serving on an adapter-ready export", () => {
  it("gives the plain export's outputs when no adapter is chosen", async () => {
    const [plain, ready] = [await logits(dir("plain")), await logits(dir("ready"))];
    expect(maxRelError(ready, plain)).toBeLessThan(1e-6);
    const [a, b] = [await (await backend.load(dir("plain"))).generate(greedy()), await (await backend.load(dir("ready"))).generate(greedy())];
    expect(b.tokens).toEqual(a.tokens);
  });

  it.each(NAMES)("base + adapter %s = the merged model's export (logits within 1e-4, same greedy tokens)", async (name) => {
    const [served, merged, base] = [await logits(dir("ready"), dir("adapters", name)), await logits(dir("merged-export", name)), await logits(dir("plain"))];
    expect(relRms(merged, base)).toBeGreaterThan(0.05); // the adapter does change the model
    expect(maxRelError(served, merged)).toBeLessThan(1e-4);
    const got = await (await backend.load(dir("ready"))).generate(greedy(dir("adapters", name)));
    const want = await (await backend.load(dir("merged-export", name))).generate(greedy());
    expect(got.tokens).toEqual(want.tokens);
  });

  it("decodes 4 concurrent requests, 3 adapters and one without, each as it decodes alone", async () => {
    const model = await backend.load(dir("ready"));
    const reqs: GenerationRequest[] = [
      { ...greedy(dir("adapters", "qv4")), maxNewTokens: 10 },
      { prompt: "Once upon a time", maxNewTokens: 14, temperature: 0.9, topP: 0.9, seed: 4, adapter: dir("adapters", "rslora16") },
      { prompt: "A much longer prompt, so that the rows of the batch have caches of different lengths: " + "more words ".repeat(12), maxNewTokens: 8, adapter: dir("adapters", "denseFc2") },
      { prompt: "No adapter here", maxNewTokens: 12, temperature: 1.1, topK: 40, seed: 8 },
    ];
    const alone: GenerationResult[] = [];
    for (const r of reqs) alone.push(await model.generate(r));
    let widest = 0;
    const together = await Promise.all(reqs.map((r) => model.generate(r, () => (widest = Math.max(widest, model.load.running)))));
    expect(widest).toBe(4);
    together.forEach((r, i) => expect(r.tokens).toEqual(alone[i].tokens));
    // and each adapter's greedy request is the merged model's
    const merged = await (await backend.load(dir("merged-export", "qv4"))).generate({ ...reqs[0], adapter: undefined });
    expect(together[0].tokens).toEqual(merged.tokens);
  });

  it("refuses bad adapters with one error naming the adapter, and keeps serving", async () => {
    const model = await backend.load(dir("ready"));
    const qvOnly = dir("ready-qv");
    await exportModel(dir("base"), qvOnly, { precision: "fp32", lora: { targets: ["q_proj", "v_proj"], maxRank: 8 } });
    const narrow = await backend.load(qvOnly);
    await randomAdapter(dir("bad", "r32"), config, { r: 32, alpha: 32, targets: ["q_proj"], seed: 1 });
    await randomAdapter(dir("bad", "other-base"), presetConfig("tiny", { hidden_size: 96, num_attention_heads: 6 }), { r: 4, alpha: 8, targets: ["q_proj"], seed: 2 });
    await randomAdapter(dir("bad", "writing"), config, { r: 4, alpha: 8, targets: ["q_proj"], seed: 3 });
    const weights = dir("bad", "writing", ADAPTER_WEIGHTS);
    const bytes = await readFile(weights);
    await writeFile(weights, bytes.subarray(0, bytes.length - 100)); // the writer is not done yet

    await expect(model.generate(greedy(dir("bad", "r32")))).rejects.toThrow(new RegExp(`adapter ${dir("bad", "r32")}: rank 32 is above this export's max rank 16`));
    await expect(narrow.generate(greedy(dir("adapters", "denseFc2")))).rejects.toThrow(/adapter .*denseFc2: targets dense, fc2, which this export does not take adapters on \(it was made for q_proj, v_proj/);
    await expect(narrow.generate(greedy(dir("adapters", "rslora16")))).rejects.toThrow(/rank 16 is above this export's max rank 8/);
    await expect(model.generate(greedy(dir("bad", "other-base")))).rejects.toThrow(/adapter .*other-base: .*expected shape \[4, 64\], found \[4, 96\]/);
    await expect(model.generate(greedy(dir("bad", "writing")))).rejects.toThrow(/adapter .*writing: .*\(still being written, or truncated\?\)/);
    await expect(model.generate(greedy(dir("bad", "absent")))).rejects.toThrow(/adapter .*absent: .*adapter directory not found/);
    await expect((await backend.load(dir("plain"))).generate(greedy(dir("adapters", "qv4")))).rejects.toThrow(/plain is not an adapter-ready export/);
    // the same model keeps serving, and the adapter, once complete, loads
    await writeFile(weights, bytes);
    expect((await model.generate(greedy(dir("bad", "writing")))).tokens.length).toBe(12);
    expect((await model.generate(greedy(dir("adapters", "qv4")))).finishReason).toBe("length");
  });

  it("stays within the int4 export's bound of the merged model on int4", async () => {
    await exportModel(dir("base"), dir("ready-int4"), { precision: "int4", lora: { targets: ["q_proj", "v_proj"], maxRank: 8 } });
    await exportModel(dir("merged", "qv4"), dir("merged-int4"), { precision: "int4" });
    const [served, merged, mergedFp32] = [await logits(dir("ready-int4"), dir("adapters", "qv4")), await logits(dir("merged-int4")), await logits(dir("merged-export", "qv4"))];
    // the bound export.test.ts holds int4 to against fp32
    expect(relRms(served, mergedFp32)).toBeLessThan(0.3);
    expect(relRms(merged, mergedFp32)).toBeLessThan(0.3);
    expect(relRms(served, merged)).toBeLessThan(0.3);
  });
});
