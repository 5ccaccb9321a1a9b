/**
 * `node dist/bench/int8-products.js [--quick]`: may the onnx training engine run its frozen products in int8?
 * For each frozen product of a training step (a linear's forward X·Wᵀ, its input gradient dY·W, the lm_head's logits
 * and their gradient) on the mid-size shapes (hidden 512, intermediate 2048, 1024 tokens = 4 × 256; lm_head on 512
 * positions) and phi-2's (2560, 10240, 2048 tokens; lm_head on 256), with operands like a step's (lib/int8-operands.ts):
 *   the relative error (Frobenius, on sampled output rows) against float64 (lib/product-error.ts) of ORT's fp32
 *   product, of bf16 autocast (emulated; checked against PyTorch's own on the mid-size linears when
 *   /usr/bin/python3 has torch), of ORT's int8 DynamicQuantizeMatMul and of its per-row variant
 *   (lib/int8-sessions.ts); and the speed of the ORT products (GFLOP/s, best of the repetitions after a warm-up).
 * int8 "holds" for a class of products when its error is at most bf16 autocast's on every product of the class.
 * --quick: small shapes, seconds (proves the script runs). Prints tables; writes bench/results/int8-products-<date>[-quick].json.
 */
import { nf4Bytes, quantizeNf4 } from "../src/model/nf4.js";
import { activations, gradients, headGradient, weight } from "./lib/int8-operands.js";
import { METHODS, runMethods, type Method } from "./lib/int8-sessions.js";
import { reference, relativeError, sampleRows, type Layout, type Product } from "./lib/product-error.js";
import { printTable, writeResults, type Cell } from "./lib/report.js";
import { hasTorch, torchBf16 } from "./lib/torch-bf16.js";

const quick = process.argv.includes("--quick");
const VOCAB = 51200;

interface Shape { label: string; hidden: number; intermediate: number; tokens: number; headRows: number; sampledRows: number; repetitions: number; torchCheck: boolean }
const SHAPES: Shape[] = quick
  ? [{ label: "small", hidden: 128, intermediate: 512, tokens: 128, headRows: 32, sampledRows: 8, repetitions: 2, torchCheck: false }]
  : [
    { label: "mid", hidden: 512, intermediate: 2048, tokens: 1024, headRows: 512, sampledRows: 32, repetitions: 5, torchCheck: true },
    { label: "phi-2", hidden: 2560, intermediate: 10240, tokens: 2048, headRows: 256, sampledRows: 16, repetitions: 3, torchCheck: false },
  ];

type ProductClass = "forward" | "backward" | "lm_head";
const CLASSES: readonly ProductClass[] = ["forward", "backward", "lm_head"];

interface Row {
  shape: string;
  product: string;
  cls: ProductClass;
  /** what A holds */
  operand: string;
  layout: Layout;
  m: number;
  k: number;
  n: number;
  error: Record<Method | "bf16" | "bf16Operands", number> & { torchBf16?: number };
  int8OverBf16: number;
  int8RowsOverBf16: number;
  gflops: Record<Method, number>;
}

async function measure(shape: Shape, product: string, cls: ProductClass, operand: string, p: Product): Promise<{ row: Row; fp32: Float32Array }> {
  const t0 = performance.now();
  const runs = await runMethods(p, shape.repetitions);
  const ref = reference(p, sampleRows(p.m, shape.sampledRows));
  const err = (m: Method) => relativeError(ref, runs.find((r) => r.method === m)!.output, p.n);
  const error: Row["error"] = {
    fp32: err("fp32"), bf16: relativeError(ref, ref.bf16, p.n), bf16Operands: relativeError(ref, ref.bf16Operands, p.n), int8: err("int8"), "int8-rows": err("int8-rows"),
  };
  if (shape.torchCheck && cls !== "lm_head" && hasTorch()) error.torchBf16 = relativeError(ref, torchBf16(p), p.n);
  const gflops = Object.fromEntries(runs.map((r) => [r.method, r.gflops])) as Record<Method, number>;
  const row: Row = {
    shape: shape.label, product, cls, operand, layout: p.layout, m: p.m, k: p.k, n: p.n, error,
    int8OverBf16: error.int8 / error.bf16, int8RowsOverBf16: error["int8-rows"] / error.bf16, gflops,
  };
  process.stdout.write(`${shape.label} ${product}: int8 / bf16 error ${row.int8OverBf16.toFixed(2)}, int8 ${gflops.int8.toFixed(0)} vs fp32 ${gflops.fp32.toFixed(0)} GFLOP/s (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  return { row, fp32: runs.find((r) => r.method === "fp32")!.output };
}

async function shapeRows(s: Shape): Promise<{ rows: Row[]; headLoss: number }> {
  const H = s.hidden, I = s.intermediate, T = s.tokens;
  const rows: Row[] = [];
  const add = async (product: string, cls: ProductClass, operand: string, p: Product) => {
    const r = await measure(s, product, cls, operand, p);
    rows.push(r.row);
    return r.fp32;
  };
  const wAttn = weight(H, H, 1, true), wFc1 = weight(I, H, 2, true), wFc2 = weight(H, I, 3, true);
  await add("q/k/v/dense fwd", "forward", "ln", { layout: "nt", a: activations("ln", T, H, 10), w: wAttn, m: T, k: H, n: H });
  await add("fc1 fwd", "forward", "ln", { layout: "nt", a: activations("ln", T, H, 11), w: wFc1, m: T, k: H, n: I });
  await add("fc2 fwd", "forward", "gelu", { layout: "nt", a: activations("gelu", T, I, 12), w: wFc2, m: T, k: I, n: H });
  await add("q/k/v/dense bwd", "backward", "laplace", { layout: "nn", a: gradients("laplace", T, H, 13), w: wAttn, m: T, k: H, n: H });
  await add("fc1 bwd", "backward", "t3", { layout: "nn", a: gradients("t3", T, I, 14), w: wFc1, m: T, k: I, n: H });
  await add("fc2 bwd", "backward", "t3-rows", { layout: "nn", a: gradients("t3-rows", T, H, 15), w: wFc2, m: T, k: H, n: I });
  const head = weight(VOCAB, H, 4, false), R = s.headRows;
  const logits = await add("lm_head fwd", "lm_head", "ln", { layout: "nt", a: activations("ln", R, H, 16), w: head, m: R, k: H, n: VOCAB });
  const { dY, meanLoss } = headGradient(logits, R, VOCAB, T, 17);
  await add("lm_head bwd", "lm_head", "softmax-onehot", { layout: "nn", a: dY, w: head, m: R, k: VOCAB, n: H });
  return { rows, headLoss: meanLoss };
}

interface Verdict { cls: ProductClass; worstInt8OverBf16: number; worstInt8RowsOverBf16: number; holds: boolean; int8OverFp32Speed: number; int8RowsOverFp32Speed: number }

function verdicts(rows: Row[]): Verdict[] {
  return CLASSES.map((cls) => {
    const of = rows.filter((r) => r.cls === cls);
    const worst = (f: (r: Row) => number) => Math.max(...of.map(f));
    const slowest = (m: Method) => Math.min(...of.map((r) => r.gflops[m] / r.gflops.fp32));
    const worstInt8OverBf16 = worst((r) => r.int8OverBf16), worstInt8RowsOverBf16 = worst((r) => r.int8RowsOverBf16);
    return { cls, worstInt8OverBf16, worstInt8RowsOverBf16, holds: Math.min(worstInt8OverBf16, worstInt8RowsOverBf16) <= 1, int8OverFp32Speed: slowest("int8"), int8RowsOverFp32Speed: slowest("int8-rows") };
  });
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const headLoss: Record<string, number> = {};
  for (const s of SHAPES) {
    const r = await shapeRows(s);
    rows.push(...r.rows);
    headLoss[s.label] = r.headLoss;
  }
  const e = (x: number | undefined) => (x === undefined ? null : x.toExponential(2));
  printTable("Frozen products: relative error against float64 (Frobenius, sampled rows) and speed (GFLOP/s, best)",
    ["shape", "product", "A", "m x k x n", "fp32 err", "bf16 err", "torch bf16", "int8 err", "int8/bf16", "int8-rows err", "int8-rows/bf16", "fp32 GF/s", "int8 GF/s", "int8-rows GF/s"],
    rows.map((r): Cell[] => [r.shape, r.product, r.operand, `${r.m}x${r.k}x${r.n}`, e(r.error.fp32), e(r.error.bf16), e(r.error.torchBf16), e(r.error.int8), r.int8OverBf16,
      e(r.error["int8-rows"]), r.int8RowsOverBf16, r.gflops.fp32, r.gflops.int8, r.gflops["int8-rows"]]), 1);
  const v = verdicts(rows);
  printTable("Does int8 hold (error ≤ bf16 autocast's on every product of the class)?", ["class", "worst int8/bf16", "worst int8-rows/bf16", "holds", "int8 / fp32 speed (min)", "int8-rows / fp32 speed (min)"],
    v.map((x): Cell[] => [x.cls, x.worstInt8OverBf16, x.worstInt8RowsOverBf16, x.holds ? "yes" : "no", x.int8OverFp32Speed, x.int8RowsOverFp32Speed]));
  const q = quantizeNf4(weight(256, 256, 1, false), [256, 256]);
  const bytesPerWeight = { nf4: nf4Bytes(q) / 65536, int8BothLayouts: 2, note: "int8: q [out, in] for dY·W and qᵀ for X·Wᵀ (no transB), plus 4 bytes of scale per output channel" };
  process.stdout.write(`\nbytes per weight: NF4 ${bytesPerWeight.nf4.toFixed(3)}, int8 in both layouts 2 (+ 4 / in for the scales)\n`);
  process.stdout.write(`lm_head gradient: labels drawn from the softmax of logits with std 4, mean loss ${Object.entries(headLoss).map(([k, l]) => `${k} ${l.toFixed(2)}`).join(", ")} nats\n`);
  const date = new Date().toISOString().slice(0, 10);
  const results = { mode: quick ? "quick" : "full", methods: METHODS, rows, verdicts: v, bytesPerWeight, headLoss };
  process.stdout.write(`\nwrote ${await writeResults(`int8-products-${date}${quick ? "-quick" : ""}`, results)}\n`);
}

await main();
