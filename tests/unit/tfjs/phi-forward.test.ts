import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { presetConfig, type PhiConfig } from "../../../src/model/config.js";
import { UserError } from "../../../src/model/errors.js";
import { dequantizeNf4, quantizeNf4 } from "../../../src/model/nf4.js";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { applyRotary, PhiModel, type TokenBatch } from "../../../src/backends/tfjs/phi.js";
import { rotaryTables } from "../../../src/model/attention-inputs.js";
import { referenceLogits, relativeError } from "../../helpers/phi-reference.js";
import { loaderOf, randomWeights } from "./reference.js";

// odd sizes everywhere: 3 heads of 12, int(12 * 0.4) = 4 rotary dims, 8 pass-through dims
const config: PhiConfig = presetConfig("tiny", {
  vocab_size: 101, hidden_size: 36, intermediate_size: 50, num_hidden_layers: 2, num_attention_heads: 3, partial_rotary_factor: 0.4,
});
const weights = randomWeights(config, 7);
let model: PhiModel;

beforeAll(async () => {
  await initEngine();
  model = await PhiModel.load(config, loaderOf(weights));
});

function run(batch: TokenBatch, m = model): number[][][] {
  const logits = m.forward(batch);
  const out = logits.arraySync();
  logits.dispose();
  return out;
}

const ids = [5, 17, 99, 0, 42, 63, 8];

describe("partial rotary embedding", () => {
  it("rotates the first rot dims with rotate-half and cat(freqs, freqs), passing the rest through (hand-computed)", () => {
    // theta 100, rot 4: inv_freq = [1, 1/10]; one head of 6 dims at positions 0 and 2
    const { cos, sin } = rotaryTables([[0, 2]], 4, 100);
    const c = (a: number) => Math.fround(Math.cos(a)), s = (a: number) => Math.fround(Math.sin(a));
    expect(Array.from(cos)).toEqual([1, 1, 1, 1, c(2), c(0.2), c(2), c(0.2)]);
    expect(Array.from(sin)).toEqual([0, 0, 0, 0, s(2), s(0.2), s(2), s(0.2)]);
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6], [1, 2, 1, 6]);
    const out = applyRotary(x, tf.tensor4d(cos, [1, 2, 1, 4]), tf.tensor4d(sin, [1, 2, 1, 4])).dataSync();
    const expected = [
      1, 2, 3, 4, 5, 6,
      Math.cos(2) - 3 * Math.sin(2), 2 * Math.cos(0.2) - 4 * Math.sin(0.2), 3 * Math.cos(2) + Math.sin(2), 4 * Math.cos(0.2) + 2 * Math.sin(0.2), 5, 6,
    ];
    for (let i = 0; i < 12; i++) expect(out[i]).toBeCloseTo(expected[i], 5);
  });
});

describe("PhiModel forward", () => {
  it("matches a float64 loop reference of HF's PhiForCausalLM within 1e-4", () => {
    const ours = run({ inputIds: [ids] })[0].flat();
    const ref = referenceLogits(config, weights, ids).flatMap((r) => Array.from(r));
    expect(ours.length).toBe(ids.length * config.vocab_size);
    expect(relativeError(ours, ref)).toBeLessThan(1e-4);
  });

  it("is causal: changing token t leaves logits before t unchanged, and changes those from t on", () => {
    const a = run({ inputIds: [ids] })[0];
    const changed = [...ids];
    changed[4] = 77;
    const b = run({ inputIds: [changed] })[0];
    for (let t = 0; t < 4; t++) expect(relativeError(b[t], a[t])).toBeLessThan(1e-6);
    for (let t = 4; t < ids.length; t++) expect(relativeError(b[t], a[t])).toBeGreaterThan(1e-3);
  });

  it("gives padded rows (left and right padding) the logits of the unpadded sequences", () => {
    const short = [11, 22, 33, 44];
    const alone = run({ inputIds: [short] })[0];
    const full = run({ inputIds: [ids] })[0];
    const batch = run({
      inputIds: [[0, 0, 0, ...short], [...short, 0, 0, 0], ids],
      attentionMask: [[0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1]],
    });
    for (let t = 0; t < 4; t++) {
      expect(relativeError(batch[0][t + 3], alone[t])).toBeLessThan(1e-5);
      expect(relativeError(batch[1][t], alone[t])).toBeLessThan(1e-5);
    }
    expect(relativeError(batch[2].flat(), full.flat())).toBeLessThan(1e-5);
    expect(batch.flat(2).every(Number.isFinite)).toBe(true);
  });

  it("uses explicit position ids: the reference agrees, and a constant shift leaves logits nearly unchanged (rotary is relative)", () => {
    const positions = ids.map((_, t) => 30 + 2 * t);
    const ours = run({ inputIds: [ids], positionIds: [positions] })[0].flat();
    const ref = referenceLogits(config, weights, ids, undefined, positions).flatMap((r) => Array.from(r));
    expect(relativeError(ours, ref)).toBeLessThan(1e-4);
    const plain = run({ inputIds: [ids] })[0].flat();
    const shifted = run({ inputIds: [ids], positionIds: [ids.map((_, t) => t + 100)] })[0].flat();
    expect(relativeError(shifted, plain)).toBeLessThan(1e-4);
    expect(relativeError(ours, plain)).toBeGreaterThan(1e-3);
  });

  it("adds each adapter's result to its linear layer's output", () => {
    const seen: string[] = [];
    const adapters = new Map([
      ["model.layers.1.mlp.fc2", (x: tf.Tensor2D) => { seen.push(`fc2 ${x.shape[1]}`); return tf.zerosLike(tf.slice(x, [0, 0], [-1, 36])) as tf.Tensor2D; }],
      ["model.layers.0.self_attn.v_proj", (x: tf.Tensor2D) => { seen.push(`v ${x.shape[1]}`); return tf.onesLike(x); }],
    ]);
    const plain = run({ inputIds: [ids] })[0].flat();
    const logits = model.forward({ inputIds: [ids] }, { adapters });
    const adapted = (logits.arraySync() as number[][][])[0].flat();
    logits.dispose();
    expect(seen.sort()).toEqual(["fc2 50", "v 36"]);
    // v_proj + 1 moves every attention output; checked against the reference with the bias shifted by one
    const shiftedBias = new Map(weights);
    shiftedBias.set("model.layers.0.self_attn.v_proj.bias", weights.get("model.layers.0.self_attn.v_proj.bias")!.map((b) => b + 1));
    const ref = referenceLogits(config, shiftedBias, ids).flatMap((r) => Array.from(r));
    expect(relativeError(adapted, ref)).toBeLessThan(1e-4);
    expect(relativeError(adapted, plain)).toBeGreaterThan(1e-3);
  });

  it("with NF4 weights computes exactly the dequantized model, close to full precision", async () => {
    const nf4 = await PhiModel.load(config, loaderOf(weights), { quant: "nf4" });
    try {
      const quant = run({ inputIds: [ids] }, nf4)[0].flat();
      const dequantized = new Map(weights);
      for (const [name, w] of weights) {
        if (/layers\.\d+\.(self_attn|mlp)\.\w+\.weight$/.test(name)) {
          const [out, inp] = name.includes("fc1") ? [50, 36] : name.includes("fc2") ? [36, 50] : [36, 36];
          dequantized.set(name, dequantizeNf4(quantizeNf4(w, [out, inp])));
        }
      }
      const ref = referenceLogits(config, dequantized, ids).flatMap((r) => Array.from(r));
      expect(relativeError(quant, ref)).toBeLessThan(1e-4);
      // 4-bit weights in a deliberately sharp random net: ~0.13 here; a wrong code table or nibble order gives ~1
      const full = run({ inputIds: [ids] })[0].flat();
      expect(relativeError(quant, full)).toBeGreaterThan(1e-3);
      expect(relativeError(quant, full)).toBeLessThan(0.25);
      // 4 bits + one double-quantized constant per 64 weights, plus the float32 biases
      const { linears } = nf4.weightBytes();
      const params = 2 * (4 * 36 * 36 + 2 * 36 * 50), biases = 2 * (4 * 36 + 50 + 36) * 4;
      expect((linears - biases) / params).toBeLessThan(0.54);
    } finally {
      nf4.dispose();
    }
  });

  it("keeps no tensors alive after a forward", () => {
    const before = tf.memory().numTensors;
    run({ inputIds: [ids, ids], attentionMask: [ids.map(() => 1), ids.map((_, t) => (t < 2 ? 0 : 1))] });
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects out-of-range ids and ragged batches naming the field", () => {
    expect(() => model.forward({ inputIds: [[1, 101]] })).toThrow(UserError);
    expect(() => model.forward({ inputIds: [[1, 101]] })).toThrow(/input_ids\[0\]\[1\] = 101/);
    expect(() => model.forward({ inputIds: [[1, 2], [3]] })).toThrow(/input_ids\[1\]: expected 2 values/);
    expect(() => model.forward({ inputIds: [[1, 2]], attentionMask: [[1, 2]] })).toThrow(/attention_mask\[0\]\[1\]/);
  });

  it("ties lm_head to the embedding when tie_word_embeddings is set (keeping lm_head.bias)", async () => {
    const tied = presetConfig("tiny", { ...config, tie_word_embeddings: true });
    const w = new Map(weights);
    w.delete("lm_head.weight");
    const m = await PhiModel.load(tied, loaderOf(w));
    const ours = run({ inputIds: [ids] }, m)[0].flat();
    m.dispose();
    w.set("lm_head.weight", weights.get("model.embed_tokens.weight")!);
    const ref = referenceLogits(tied, w, ids).flatMap((r) => Array.from(r));
    expect(relativeError(ours, ref)).toBeLessThan(1e-4);
  });

  it("rejects a tensor of the wrong size naming it", async () => {
    const bad = new Map(weights);
    bad.set("model.layers.1.mlp.fc1.weight", new Float32Array(10));
    const before = tf.memory().numTensors;
    await expect(PhiModel.load(config, loaderOf(bad))).rejects.toThrow(/model\.layers\.1\.mlp\.fc1\.weight: expected shape \[50, 36\]/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
