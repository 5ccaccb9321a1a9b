/**
 * What ORT's MatMulNBits alone lets a phi-2 int4 export reach on this CPU: the six linears of a decoder layer
 * (q, k, v, dense, fc1, fc2, shaped by model/phi-layout.ts, chained as a layer uses them) over `layers` distinct
 * layers (more weight bytes than the caches hold, as in a real step), timed with 1 row (a decode step), 8 rows (a step
 * of 8 streams) and `prefillRows` rows (a prompt), plus lm_head (1 and 8 rows). Nothing else of the model runs
 * (attention, norms, embedding, the copies of the outputs), so each figure is an upper bound:
 * decode ≤ 1 / (L·layer₁ + lm₁), prefill ≤ rows / (L·layer_rows + lm₁), 8 streams ≤ 8 / (L·layer₈ + lm₈).
 * The weights are random bytes (the kernel's speed does not depend on the values).
 */
import { randomFillSync } from "node:crypto";
import os from "node:os";
import * as ort from "onnxruntime-node";
import { attr, FLOAT, GraphBuilder, inlineSink, UINT8 } from "../../src/backends/onnx/export/graph.js";
import { INT4_ACCURACY_LEVEL } from "../../src/backends/onnx/export/phi-graph.js";
import type { PhiConfig } from "../../src/model/config.js";
import { LINEAR_MODULES, linearFeatures, type LinearModule } from "../../src/model/phi-layout.js";
import { timeRepeated } from "./stats.js";

export interface Int4BoundsResult {
  blockSize: number;
  threads: number;
  layersTimed: number;
  numHiddenLayers: number;
  prefillRows: number;
  /** bytes of MatMulNBits weights and scales a decode step reads (all layers and lm_head) */
  weightGBPerToken: number;
  /** best ms of one decoder layer's linears, and of lm_head */
  layerMs: { one: number; eight: number; prefill: number };
  lmHeadMs: { one: number; eight: number };
  /** tokens/s the linears alone allow */
  decodeBound: number;
  prefillBound: number;
  eightStreamBound: number;
  /** weight bytes per second of the 1-row step */
  decodeGBps: number;
  /** multiply-adds × 2 per second in the linears at prefill */
  prefillGops: number;
}

function int4Weight(g: GraphBuilder, name: string, k: number, n: number, blockSize: number): Promise<[string, string]> {
  const blocks = k / blockSize;
  const packed = randomFillSync(new Uint8Array(n * blocks * (blockSize / 2)));
  return Promise.all([
    g.weight(`${name}.q4`, UINT8, [n, blocks, blockSize / 2], packed),
    g.weight(`${name}.scales`, FLOAT, [n * blocks], new Float32Array(n * blocks).fill(1 / 256)),
  ]);
}

async function session(build: (g: GraphBuilder, matMul: (x: string, name: string, k: number, n: number) => Promise<string>) => Promise<string>, blockSize: number, threads: number): Promise<ort.InferenceSession> {
  const g = new GraphBuilder(inlineSink);
  const matMul = async (x: string, name: string, k: number, n: number) => {
    const [b, s] = await int4Weight(g, name, k, n, blockSize);
    return g.op("MatMulNBits", [x, b, s], { K: attr.int(k), N: attr.int(n), bits: attr.int(4), block_size: attr.int(blockSize), accuracy_level: attr.int(INT4_ACCURACY_LEVEL) }, "com.microsoft");
  };
  const y = await build(g, matMul);
  g.node("Identity", [y], {}, { outputs: ["y"] });
  g.output("y", FLOAT, ["rows", "n"]);
  return ort.InferenceSession.create(g.encode("tunegraph-bench", { "": 17, "com.microsoft": 1 }), {
    executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all",
  });
}

async function bestMs(s: ort.InferenceSession, rows: number, k: number, repetitions: number): Promise<number> {
  const x = new ort.Tensor("float32", new Float32Array(rows * k).fill(0.01), [rows, k]);
  return Math.min(...(await timeRepeated(async () => { await s.run({ x }); }, repetitions))) * 1000;
}

export async function measureInt4Bounds(opts: { config: PhiConfig; blockSize: number; layers: number; prefillRows: number; repetitions: number; threads?: number }): Promise<Int4BoundsResult> {
  const c = opts.config, h = c.hidden_size, threads = opts.threads ?? os.availableParallelism();
  const features = (m: LinearModule) => linearFeatures(c, m);
  const layers = await session(async (g, matMul) => {
    let x = g.input("x", FLOAT, ["rows", h]);
    for (let l = 0; l < opts.layers; l++) {
      const [q, k, v] = await Promise.all((["q_proj", "k_proj", "v_proj"] as const).map((m) => matMul(x, `${l}.${m}`, ...features(m))));
      const attention = g.op("Add", [g.op("Add", [q, k]), v]); // stands in for attention: it has q, k and v's shape
      const dense = await matMul(attention, `${l}.dense`, ...features("dense"));
      const mlp = await matMul(await matMul(x, `${l}.fc1`, ...features("fc1")), `${l}.fc2`, ...features("fc2"));
      x = g.op("Add", [g.op("Add", [dense, mlp]), x]);
    }
    return x;
  }, opts.blockSize, threads);
  const lmHead = await session(async (g, matMul) => matMul(g.input("x", FLOAT, ["rows", h]), "lm_head", h, c.vocab_size), opts.blockSize, threads);
  try {
    const perLayer = async (rows: number, reps: number) => (await bestMs(layers, rows, h, reps)) / opts.layers;
    const layerMs = { one: await perLayer(1, opts.repetitions), eight: await perLayer(8, opts.repetitions), prefill: await perLayer(opts.prefillRows, Math.max(1, Math.ceil(opts.repetitions / 3))) };
    const lmHeadMs = { one: await bestMs(lmHead, 1, h, opts.repetitions), eight: await bestMs(lmHead, 8, h, opts.repetitions) };
    const L = c.num_hidden_layers;
    const layerWeights = LINEAR_MODULES.reduce((a, m) => a + features(m)[0] * features(m)[1], 0);
    const bytesPerWeight = 0.5 + 4 / opts.blockSize; // 4-bit codes and an fp32 scale per block
    const weightBytes = (L * layerWeights + h * c.vocab_size) * bytesPerWeight;
    const decodeMs = L * layerMs.one + lmHeadMs.one;
    const prefillMs = L * layerMs.prefill + lmHeadMs.one;
    return {
      blockSize: opts.blockSize, threads, layersTimed: opts.layers, numHiddenLayers: L, prefillRows: opts.prefillRows,
      weightGBPerToken: weightBytes / 1e9, layerMs, lmHeadMs,
      decodeBound: 1000 / decodeMs,
      prefillBound: (opts.prefillRows * 1000) / prefillMs,
      eightStreamBound: 8000 / (L * layerMs.eight + lmHeadMs.eight),
      decodeGBps: weightBytes / 1e9 / (decodeMs / 1000),
      prefillGops: (2 * opts.prefillRows * L * layerWeights) / (L * layerMs.prefill / 1000) / 1e9,
    };
  } finally {
    await Promise.all([layers.release(), lmHead.release()]);
  }
}
