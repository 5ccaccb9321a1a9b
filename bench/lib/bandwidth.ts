/**
 * This machine's memory read bandwidth, the physical limit of decode (every weight is read once per token): an ORT
 * graph that ReduceSums one large float tensor on the CPU provider, so the read runs through ORT's vectorized (Eigen),
 * multi-threaded loops rather than JavaScript. The best of several repetitions is the figure.
 */
import os from "node:os";
import * as ort from "onnxruntime-node";
import { opSession } from "./ort-graph.js";
import { summarize, timeRepeated, type Summary } from "./stats.js";

export interface BandwidthOptions {
  /** Size of the tensor read; far above the last-level cache (default 2 GiB). */
  bytes?: number;
  /** Intra-op threads (default: one per core, as decode runs). */
  threads?: number;
  repetitions?: number;
}

export interface BandwidthResult {
  method: string;
  bytes: number;
  threads: number;
  /** GB/s (1e9 bytes) of each timed repetition, warm-up excluded. */
  samplesGBps: number[];
  bestGBps: number;
  summary: Summary;
}

const COLUMNS = 1 << 16;

export async function measureReadBandwidth(opts: BandwidthOptions = {}): Promise<BandwidthResult> {
  const threads = opts.threads ?? os.availableParallelism();
  const rows = Math.max(1, Math.floor((opts.bytes ?? 2 ** 31) / 4 / COLUMNS));
  const data = new Float32Array(rows * COLUMNS);
  // written, so that every page is backed by its own memory (untouched pages all read one shared zero page)
  data.fill(1);
  // a sum per row: rows split across the threads, each row a contiguous 256 KiB read
  const session = await opSession({ opType: "ReduceSum", inputs: [{ name: "x", shape: [rows, COLUMNS] }], output: "y", attributes: { axes: [1], keepdims: 0 }, opset: 11 }, threads);
  const feeds = { x: new ort.Tensor("float32", data, [rows, COLUMNS]) };
  try {
    const seconds = await timeRepeated(async () => {
      await session.run(feeds);
    }, opts.repetitions ?? 5);
    const samplesGBps = seconds.map((s) => data.byteLength / s / 1e9);
    return { method: `ORT ReduceSum over a ${(data.byteLength / 2 ** 30).toFixed(2)} GiB float32 tensor, ${threads} intra-op threads`, bytes: data.byteLength, threads, samplesGBps, bestGBps: Math.max(...samplesGBps), summary: summarize(samplesGBps) };
  } finally {
    await session.release();
  }
}
