/**
 * What attention costs a phi-2 step on ORT's CPU, beside the linears (int4-bounds.ts), one layer, float32 cache:
 * - the export's com.microsoft MultiHeadAttention (past in, present out: the op copies the cache every step);
 * - what the served decode runs instead (decode-graph.ts `readPastAttention`: standard ops reading the past in place);
 * - for a prompt, GroupQueryAttention (the served prefill, `inPlaceAttention`) and MultiHeadAttention.
 * A decode step adds 1 token to `past` cached ones; a prompt is `promptRows` tokens, no past. Only attention runs
 * (q, k, v are inputs), so each figure is what attention alone adds per layer.
 */
import os from "node:os";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { inPlaceAttention, readPastAttention } from "../../src/backends/onnx/decode-graph.js";
import { attr, FLOAT, GraphBuilder, inlineSink, INT64 } from "../../src/backends/onnx/export/graph.js";
import { headDim, type PhiConfig } from "../../src/model/config.js";
import { ATTENTION_MASK } from "../../src/model/onnx-names.js";
import { timeRepeated } from "./stats.js";

export interface AttentionBoundResult {
  past: number;
  promptRows: number;
  /** best ms of one layer's attention */
  mhaDecodeMs: number;
  servedDecodeMs: number;
  mhaPromptMs: number;
  gqaPromptMs: number;
}

/** One MultiHeadAttention as the export writes it (layer 0's names), rewritten by `rewrite` when given. */
function graph(heads: number, d: number, rewrite?: (g: onnxProto.onnx.IGraphProto) => boolean): Uint8Array {
  const g = new GraphBuilder(inlineSink);
  const hidden = heads * d;
  for (const n of ["q", "k", "v"]) g.input(n, FLOAT, [1, "s", hidden]);
  g.input("mask_bias", FLOAT, [1, 1, "s", "t"]);
  g.input(ATTENTION_MASK, INT64, [1, "t"]);
  for (const kind of ["key", "value"]) g.input(`past_key_values.0.${kind}`, FLOAT, [1, heads, "p", d]);
  g.node("MultiHeadAttention", ["q", "k", "v", "", "", "mask_bias", "past_key_values.0.key", "past_key_values.0.value"], { num_heads: attr.int(heads) },
    { domain: "com.microsoft", outputs: ["out", "present.0.key", "present.0.value"] });
  g.output("out", FLOAT, [1, "s", hidden]);
  for (const kind of ["key", "value"]) g.output(`present.0.${kind}`, FLOAT, [1, heads, "t", d]);
  const model = onnxProto.onnx.ModelProto.decode(g.encode("tunegraph-bench", { "": 17, "com.microsoft": 1 }));
  if (rewrite && !rewrite(model.graph!)) throw new Error("attention-bound: the rewrite found no MultiHeadAttention");
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

export async function measureAttention(opts: { config: PhiConfig; past: number; promptRows: number; repetitions: number; threads?: number }): Promise<AttentionBoundResult> {
  const c = opts.config, heads = c.num_attention_heads, d = headDim(c), hidden = heads * d;
  const threads = opts.threads ?? os.availableParallelism();
  const options = { executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all" as const };
  const [mha, served, gqa] = await Promise.all([graph(heads, d), graph(heads, d, readPastAttention), graph(heads, d, inPlaceAttention)].map((m) => ort.InferenceSession.create(m, options)));
  const fill = (n: number) => new Float32Array(n).map((_, i) => Math.sin(i) * 0.1);
  const cache = (slots: number): Record<string, ort.Tensor> => Object.fromEntries(["key", "value"].map((kind) => [`past_key_values.0.${kind}`, new ort.Tensor("float32", fill(heads * slots * d), [1, heads, slots, d])]));
  /** Feeds of a step of `rows` new tokens after `past` cached ones (every slot filled: the bias masks nothing but the future). */
  const feeds = (rows: number, past: number, slots = past): Record<string, ort.Tensor> => {
    const bias = new Float32Array(rows * (slots + rows));
    for (let i = 0; i < rows; i++) bias.fill(-3.4e38, i * (slots + rows) + slots + i + 1, (i + 1) * (slots + rows));
    return {
      ...Object.fromEntries(["q", "k", "v"].map((n) => [n, new ort.Tensor("float32", fill(rows * hidden), [1, rows, hidden])])),
      mask_bias: new ort.Tensor("float32", bias, [1, 1, rows, slots + rows]),
      [ATTENTION_MASK]: new ort.Tensor("int64", new BigInt64Array(past + rows).fill(1n), [1, past + rows]),
      ...cache(slots),
    };
  };
  const best = async (run: () => Promise<unknown>, reps: number) => Math.min(...(await timeRepeated(async () => { await run(); }, reps))) * 1000;
  const promptReps = Math.max(1, Math.ceil(opts.repetitions / 3));
  try {
    const decode = feeds(1, opts.past), prompt = feeds(opts.promptRows, 0);
    const mhaDecodeMs = await best(() => mha.run(decode, ["out"]), opts.repetitions);
    const servedDecodeMs = await best(() => served.run(decode, ["out"]), opts.repetitions);
    const mhaPromptMs = await best(() => mha.run(prompt, ["out"]), promptReps);
    // GroupQueryAttention writes the prompt's keys and values into the cache it is fed: a cache with room for them
    const room = { ...prompt, ...cache(opts.promptRows) };
    const gqaPromptMs = await best(() => gqa.run(room, { out: null, "present.0.key": room["past_key_values.0.key"], "present.0.value": room["past_key_values.0.value"] }), promptReps);
    return { past: opts.past, promptRows: opts.promptRows, mhaDecodeMs, servedDecodeMs, mhaPromptMs, gqaPromptMs };
  } finally {
    await Promise.all([mha.release(), served.release(), gqa.release()]);
  }
}
