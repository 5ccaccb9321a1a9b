/**
 * The products of bench/int8-products.ts on ORT's CPU provider, each a small graph whose operands are all inputs (as
 * in the training engine's shared sessions, so nothing is prepacked at load):
 *   fp32:      Gemm(A, W, transB) forward, MatMul(dY, W) backward: what the engine runs today;
 *   int8:      com.microsoft.DynamicQuantizeMatMul: A quantized per tensor at run time (uint8, zero point from its
 *              min and max), B int8 [K, N] with a float scale per column. W [out, in] is quantized per output channel
 *              (symmetric, s = max|row| / 127). Forward: B = qᵀ [in, out], b_scale = s. Backward: dX = dY·W =
 *              (dY ⊙ s)·q, so s folds into dY's columns and B = q [out, in] with b_scale 1: the op has no transB,
 *              so the two directions need q in both layouts (2 bytes per weight, against NF4's ~0.52);
 *   int8-rows: the same op with a scale per row of A: each row divided by its max |value| before the op, and its
 *              output row multiplied back (the per-tensor quantization then spends its 256 levels on every row).
 */
import os from "node:os";
import * as ort from "onnxruntime-node";
import { attr, FLOAT, GraphBuilder, inlineSink, onnx } from "../../src/backends/onnx/export/graph.js";
import type { Product } from "./product-error.js";
import { timeRepeated } from "./stats.js";

export type Method = "fp32" | "int8" | "int8-rows";
export const METHODS: readonly Method[] = ["fp32", "int8", "int8-rows"];
const INT8 = onnx.TensorProto.DataType.INT8;

/** Symmetric int8 per row of x [rows, cols]: x[r, c] ≈ scale[r] · q[r, c]. */
export function quantizeRows(x: Float32Array, rows: number, cols: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(rows * cols), scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let i = r * cols; i < (r + 1) * cols; i++) max = Math.max(max, Math.abs(x[i]));
    scale[r] = max / 127;
    const inv = max === 0 ? 0 : 127 / max;
    for (let i = r * cols; i < (r + 1) * cols; i++) q[i] = Math.round(x[i] * inv);
  }
  return { q, scale };
}

function transpose(x: Int8Array, rows: number, cols: number): Int8Array {
  const out = new Int8Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

function graph(p: Product, method: Method): Uint8Array {
  const g = new GraphBuilder(inlineSink);
  const { m, k, n } = p;
  let a = g.input("a", FLOAT, [m, k]);
  let y: string;
  if (method === "fp32") {
    const w = g.input("w", FLOAT, p.layout === "nt" ? [n, k] : [k, n]);
    y = p.layout === "nt" ? g.op("Gemm", [a, w], { transB: attr.int(1) }) : g.op("MatMul", [a, w]);
  } else {
    const q = g.input("q", INT8, [k, n]);
    const s = g.input("s", FLOAT, p.layout === "nt" ? [n] : [1, k]);
    if (p.layout === "nn") a = g.op("Mul", [a, s]);
    const rowMax = method === "int8-rows"
      ? g.op("Max", [g.op("ReduceMax", [g.op("Abs", [a])], { axes: attr.ints([1]), keepdims: attr.int(1) }), g.floats([1e-30], true)])
      : undefined;
    if (rowMax) a = g.op("Div", [a, rowMax]);
    y = g.op("DynamicQuantizeMatMul", [a, q, p.layout === "nt" ? s : g.floats([1], true)], {}, "com.microsoft");
    if (rowMax) y = g.op("Mul", [y, rowMax]);
  }
  g.node("Identity", [y], {}, { outputs: ["y"] });
  g.output("y", FLOAT, [m, n]);
  return g.encode("tunegraph-bench", { "": 17, "com.microsoft": 1 });
}

export interface MethodRun {
  method: Method;
  /** the whole [m, n] output */
  output: Float32Array;
  /** best seconds of the timed repetitions (after one untimed warm-up) */
  bestSeconds: number;
  gflops: number;
}

/** Each method on `p`: its output and its best time over `repetitions`. */
export async function runMethods(p: Product, repetitions: number): Promise<MethodRun[]> {
  const { m, k, n } = p;
  // W [out, in] per output channel: forward out = n (W is [n, k]), backward out = k (W is [k, n])
  const quant = p.layout === "nt" ? quantizeRows(p.w, n, k) : quantizeRows(p.w, k, n);
  const int8 = {
    q: new ort.Tensor("int8", p.layout === "nt" ? transpose(quant.q, n, k) : quant.q, [k, n]),
    s: new ort.Tensor("float32", quant.scale, p.layout === "nt" ? [n] : [1, k]),
  };
  const feeds: Record<Method, Record<string, ort.Tensor>> = {
    fp32: { w: new ort.Tensor("float32", p.w, p.layout === "nt" ? [n, k] : [k, n]) }, int8, "int8-rows": int8,
  };
  const a = new ort.Tensor("float32", p.a, [m, k]);
  const runs: MethodRun[] = [];
  for (const method of METHODS) {
    const session = await ort.InferenceSession.create(graph(p, method), {
      executionProviders: ["cpu"], intraOpNumThreads: os.availableParallelism(), interOpNumThreads: 1, graphOptimizationLevel: "all",
    });
    try {
      let output: Float32Array = new Float32Array();
      const seconds = await timeRepeated(async () => {
        output = (await session.run({ a, ...feeds[method] })).y.data as Float32Array;
      }, repetitions);
      const bestSeconds = Math.min(...seconds);
      runs.push({ method, output, bestSeconds, gflops: (2 * m * k * n) / bestSeconds / 1e9 });
    } finally {
      await session.release();
    }
  }
  return runs;
}
