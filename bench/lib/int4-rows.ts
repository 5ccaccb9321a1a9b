/**
 * The int4 kernel's batching limit: ORT's MatMulNBits (the op of every linear layer of an int4 export) on phi-2's
 * largest weight (lm_head, 2560 → 51200: 82 MB with its scales, more than the caches hold, as in a real decode step),
 * timed with 1 row and with 8 (one decode step of 1 and of 8 streams). One row is bounded by memory bandwidth; more
 * rows reuse each weight read, until the kernel's arithmetic (unpacking, per-block scales, int8 dot products) is the
 * bound. 8 · t1 / t8 is then the most that 8 streams can gain over one, for the linear layers alone.
 */
import os from "node:os";
import * as ort from "onnxruntime-node";
import { attr, FLOAT, GraphBuilder, inlineSink, UINT8 } from "../../src/backends/onnx/export/graph.js";
import { INT4_ACCURACY_LEVEL } from "../../src/backends/onnx/export/phi-graph.js";
import { quantizeInt4 } from "../../src/backends/onnx/export/int4.js";
import { Rng } from "../../src/model/random.js";
import { timeRepeated } from "./stats.js";

export interface Int4RowsResult {
  blockSize: number;
  k: number;
  n: number;
  threads: number;
  /** best milliseconds of one product with 1 row and with 8 */
  oneRowMs: number;
  eightRowsMs: number;
  /** 8 · oneRowMs / eightRowsMs: the ceiling of aggregate / one stream at 8 streams, set by this kernel */
  eightStreamCeiling: number;
  /** multiply-adds ×2 per second with 8 rows */
  eightRowsGops: number;
}

async function session(k: number, n: number, blockSize: number, threads: number): Promise<ort.InferenceSession> {
  const g = new GraphBuilder(inlineSink);
  const x = g.input("x", FLOAT, ["rows", k]);
  const q = quantizeInt4(new Rng(7, "int4-rows").fillNormal(new Float32Array(n * k), 0.02), n, k, blockSize);
  const b = await g.weight("w_q4", UINT8, [n, q.blocks, blockSize / 2], q.packed);
  const s = await g.weight("w_scales", FLOAT, [n * q.blocks], q.scales);
  g.node("MatMulNBits", [x, b, s], {
    K: attr.int(k), N: attr.int(n), bits: attr.int(4), block_size: attr.int(blockSize), accuracy_level: attr.int(INT4_ACCURACY_LEVEL),
  }, { domain: "com.microsoft", outputs: ["y"] });
  g.output("y", FLOAT, ["rows", n]);
  return ort.InferenceSession.create(g.encode("tunegraph-bench", { "": 17, "com.microsoft": 1 }), {
    executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all",
  });
}

export async function measureInt4Rows(opts: { blockSize: number; k?: number; n?: number; repetitions?: number }): Promise<Int4RowsResult> {
  const k = opts.k ?? 2560, n = opts.n ?? 51200, threads = os.availableParallelism();
  const s = await session(k, n, opts.blockSize, threads);
  try {
    const best = async (rows: number) => {
      const x = new ort.Tensor("float32", new Rng(rows, "x").fillNormal(new Float32Array(rows * k), 1), [rows, k]);
      return Math.min(...(await timeRepeated(async () => { await s.run({ x }); }, opts.repetitions ?? 10))) * 1000;
    };
    const oneRowMs = await best(1);
    const eightRowsMs = await best(8);
    return { blockSize: opts.blockSize, k, n, threads, oneRowMs, eightRowsMs, eightStreamCeiling: (8 * oneRowMs) / eightRowsMs, eightRowsGops: (2 * 8 * k * n) / (eightRowsMs / 1000) / 1e9 };
  } finally {
    await s.release();
  }
}
