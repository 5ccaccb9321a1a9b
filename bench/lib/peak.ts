/**
 * An engine's measured matMul peak (GFLOP/s on a large square float32 product): the denominator of training
 * utilization and the ceiling for compute-bound prefill. ORT's MatMul (MLAS) and tfjs' matMul on its current engine
 * (wasm: XNNPACK's fast 2-D, non-transposed path). The best of several repetitions is the figure.
 */
import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { initEngine, switchEngine, type EngineName } from "../../src/backends/tfjs/engine.js";
import { opSession } from "./ort-graph.js";
import { summarize, timeRepeated, type Summary } from "./stats.js";

export interface PeakOptions {
  /** n of the n×n · n×n product (default 2048). */
  size?: number;
  repetitions?: number;
}

export interface PeakResult {
  engine: string;
  size: number;
  threads: number;
  /** GFLOP/s (2n³ per product) of each timed repetition, warm-up excluded. */
  samplesGflops: number[];
  bestGflops: number;
  summary: Summary;
}

function result(engine: string, size: number, threads: number, seconds: number[]): PeakResult {
  const samplesGflops = seconds.map((s) => (2 * size ** 3) / s / 1e9);
  return { engine, size, threads, samplesGflops, bestGflops: Math.max(...samplesGflops), summary: summarize(samplesGflops) };
}

function randomSquare(n: number): Float32Array {
  const a = new Float32Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = Math.random() - 0.5;
  return a;
}

/** ORT MatMul on the CPU provider with `threads` intra-op threads (default one per core). */
export async function ortMatMulPeak(opts: PeakOptions & { threads?: number } = {}): Promise<PeakResult> {
  const n = opts.size ?? 2048;
  const threads = opts.threads ?? os.availableParallelism();
  const session = await opSession({ opType: "MatMul", inputs: [{ name: "a", shape: [n, n] }, { name: "b", shape: [n, n] }], output: "c" }, threads);
  const feeds = { a: new ort.Tensor("float32", randomSquare(n), [n, n]), b: new ort.Tensor("float32", randomSquare(n), [n, n]) };
  try {
    const seconds = await timeRepeated(async () => {
      await session.run(feeds);
    }, opts.repetitions ?? 5);
    return result("onnxruntime-cpu", n, threads, seconds);
  } finally {
    await session.release();
  }
}

/** tfjs matMul on `engine` (default: the engine the project would pick, see src/backends/tfjs/engine.ts). */
export async function tfjsMatMulPeak(opts: PeakOptions & { engine?: EngineName } = {}): Promise<PeakResult> {
  const n = opts.size ?? 2048;
  const info = opts.engine ? await switchEngine(opts.engine) : await initEngine();
  const a = tf.tensor2d(randomSquare(n), [n, n]);
  const b = tf.tensor2d(randomSquare(n), [n, n]);
  try {
    const seconds = await timeRepeated(async () => {
      const c = tf.matMul(a, b);
      await c.data(); // waits for the product on asynchronous engines
      c.dispose();
    }, opts.repetitions ?? 5);
    return result(`tfjs-${info.engine}`, n, info.threads, seconds);
  } finally {
    a.dispose();
    b.dispose();
  }
}
