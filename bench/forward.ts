/**
 * `npm run bench:forward [-- --quick]`: the tfjs Phi forward pass and NF4.
 *  - forward tokens/s for the tiny preset and a mid-size config (hidden 512, 8 layers) on every tfjs engine that
 *    loads here, with float32 and NF4 linears;
 *  - the 2-D / transposed / batched matMul rates behind ops.ts' choices (wasm);
 *  - NF4 (double-quant) quantization of phi-2-shaped random matrices, layer by layer, all held: time, bytes per weight,
 *    peak RSS (a child process);
 *  - peak RSS of `tunegraph init-model --preset phi-2` (a child process; quick mode: 2 layers).
 * Prints tables; writes bench/results/forward-<date>[-quick].json.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { availableEngines, switchEngine, type EngineName } from "../src/backends/tfjs/engine.js";
import { batchMatMul } from "../src/backends/tfjs/ops.js";
import { PhiModel, type Quant } from "../src/backends/tfjs/phi.js";
import { presetConfig, type PhiConfig } from "../src/model/config.js";
import { nf4Bytes, quantizeNf4, type Nf4Tensor } from "../src/model/nf4.js";
import { runNodeChild } from "./lib/child.js";
import { median, printTable, writeResults, type Cell } from "./lib/report.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const partArg = args.indexOf("--part");
const part = partArg >= 0 ? args[partArg + 1] : undefined;

/** Uniform values in ±scale from a cheap LCG: benchmark weights need a shape, not a distribution. */
function fill(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

function randomLoader(config: PhiConfig) {
  let seed = 1;
  return async (name: string): Promise<Float32Array> => {
    const h = config.hidden_size, m = config.intermediate_size, v = config.vocab_size;
    const n = name.includes("embed_tokens") || name === "lm_head.weight" ? v * h
      : name.endsWith("lm_head.bias") ? v
      : name.includes("fc1.weight") || name.includes("fc2.weight") ? m * h
      : name.includes("fc1.bias") ? m
      : /(q_proj|k_proj|v_proj|dense)\.weight/.test(name) ? h * h
      : h;
    const scale = name.endsWith(".weight") && !name.includes("layernorm") ? 0.02 * Math.sqrt(3) : 0.1;
    return fill(n, seed++, scale);
  };
}

interface ForwardRow {
  engine: EngineName;
  model: string;
  quant: Quant;
  batch: number;
  seq: number;
  loadSeconds: number;
  forwardSeconds: number;
  tokensPerSecond: number;
}

async function benchForward(engine: EngineName, label: string, config: PhiConfig, quant: Quant, batch: number, seq: number, reps: number): Promise<ForwardRow> {
  const t0 = performance.now();
  const model = await PhiModel.load(config, randomLoader(config), { quant });
  const loadSeconds = (performance.now() - t0) / 1000;
  const inputIds = Array.from({ length: batch }, (_, b) => Array.from({ length: seq }, (_, t) => (b * 7919 + t * 104729) % config.vocab_size));
  const times: number[] = [];
  try {
    for (let r = 0; r <= reps; r++) {
      const start = performance.now();
      const logits = model.forward({ inputIds });
      await logits.data();
      logits.dispose();
      if (r > 0) times.push((performance.now() - start) / 1000); // the first run warms up kernels
    }
  } finally {
    model.dispose();
  }
  const forwardSeconds = median(times);
  return { engine, model: label, quant, batch, seq, loadSeconds, forwardSeconds, tokensPerSecond: (batch * seq) / forwardSeconds };
}

async function benchMatMul(): Promise<{ product: string; gflops: number }[]> {
  const rows: { product: string; gflops: number }[] = [];
  const rate = (product: string, flops: number, f: () => tf.Tensor) => {
    f().dispose();
    const reps = quick ? 3 : 10;
    const start = performance.now();
    for (let i = 0; i < reps; i++) {
      const r = f();
      r.dataSync();
      r.dispose();
    }
    rows.push({ product, gflops: (flops * reps) / ((performance.now() - start) / 1000) / 1e9 });
  };
  const [n, k, m] = [512, 512, 2048];
  const a = tf.randomNormal([n, k]) as tf.Tensor2D, b = tf.randomNormal([k, m]) as tf.Tensor2D, bT = tf.randomNormal([m, k]) as tf.Tensor2D;
  rate(`2-D ${n}x${k} · ${k}x${m}`, 2 * n * k * m, () => tf.matMul(a, b));
  rate(`2-D ${n}x${k} · (${m}x${k})ᵀ`, 2 * n * k * m, () => tf.matMul(a, bT, false, true));
  rate(`2-D transpose then product`, 2 * n * k * m, () => tf.tidy(() => tf.matMul(a, tf.transpose(bT))));
  const [bh, t, d] = [32, 128, 80];
  const q = tf.randomNormal([bh, t, d]) as tf.Tensor3D, kk = tf.randomNormal([bh, t, d]) as tf.Tensor3D, p = tf.randomNormal([bh, t, t]) as tf.Tensor3D;
  rate(`batched ${bh}x[${t}x${d} · (${t}x${d})ᵀ]`, 2 * bh * t * t * d, () => tf.matMul(q, kk, false, true));
  rate(`batched ${bh}x[${t}x${t} · ${t}x${d}]`, 2 * bh * t * t * d, () => tf.matMul(p, kk));
  rate(`per-head 2-D, ${bh} products (unstack)`, 2 * bh * t * t * d, () => tf.tidy(() => {
    const ps = tf.unstack(p), vs = tf.unstack(kk);
    return tf.stack(ps.map((x, i) => tf.matMul(x as tf.Tensor2D, vs[i] as tf.Tensor2D)));
  }));
  // what attention uses: ops.ts' batchMatMul (per-head 2-D products on pieces cut by the engine's SplitV)
  rate(`batchMatMul ${bh}x[${t}x${t} · ${t}x${d}]`, 2 * bh * t * t * d, () => batchMatMul(p, kk));
  tf.dispose([a, b, bT, q, kk, p]);
  return rows;
}

/** Child part: quantize phi-2-shaped matrices layer by layer and keep them all, as a loaded QLoRA base holds them. */
async function partNf4Phi2(): Promise<void> {
  const c = presetConfig("phi-2");
  const layers = quick ? 2 : c.num_hidden_layers;
  const h = c.hidden_size, m = c.intermediate_size;
  const shapes: [number, number][] = [[h, h], [h, h], [h, h], [h, h], [m, h], [h, m]];
  const held: Nf4Tensor[] = [];
  let weights = 0, seconds = 0;
  for (let l = 0; l < layers; l++) {
    for (const [out, inp] of shapes) {
      const w = fill(out * inp, l * 6 + held.length + 1, 0.05);
      const start = performance.now();
      held.push(quantizeNf4(w, [out, inp]));
      seconds += (performance.now() - start) / 1000;
      weights += out * inp;
    }
  }
  const bytes = held.reduce((a, q) => a + nf4Bytes(q), 0);
  process.stdout.write(`${JSON.stringify({ layers, weights, seconds, bytes, bytesPerWeight: bytes / weights, weightsPerSecond: weights / seconds })}\n`);
}

async function main(): Promise<void> {
  if (part === "nf4-phi2") return partNf4Phi2();
  const script = fileURLToPath(import.meta.url);
  const results: Record<string, unknown> = { mode: quick ? "quick" : "full" };

  // forward, per engine
  const tiny = presetConfig("tiny");
  const mid = presetConfig("tiny", { hidden_size: 512, intermediate_size: 2048, num_hidden_layers: 8, num_attention_heads: 8 });
  const engines = await availableEngines();
  const forward: ForwardRow[] = [];
  let matmul: { product: string; gflops: number }[] = [];
  for (const engine of engines) {
    await switchEngine(engine);
    const slow = engine === "cpu";
    for (const [label, config] of [["tiny", tiny], ["mid (512 x 8)", mid]] as const) {
      for (const quant of ["none", "nf4"] as const) {
        if (slow && label !== "tiny" && (quick || quant === "nf4")) continue; // plain cpu: ~40x slower than wasm
        const [batch, seq] = quick ? [1, 64] : label === "tiny" ? [4, 256] : [1, 256];
        forward.push(await benchForward(engine, label, config, quant, batch, seq, quick ? 1 : 3));
      }
    }
    if (engine === "wasm") matmul = await benchMatMul();
  }
  printTable("Forward pass (median of runs, first run excluded)", ["engine", "model", "quant", "batch x seq", "load s", "forward s", "tokens/s"],
    forward.map((r): Cell[] => [r.engine, r.model, r.quant, `${r.batch} x ${r.seq}`, r.loadSeconds, r.forwardSeconds, r.tokensPerSecond]));
  if (matmul.length) printTable("matMul on wasm", ["product", "GFLOP/s"], matmul.map((r) => [r.product, r.gflops]));
  results.forward = forward;
  results.matmulWasm = matmul;

  // NF4 quantization of phi-2's linears, in a child for its own peak RSS
  const nf4Run = await runNodeChild(script, ["--part", "nf4-phi2", ...(quick ? ["--quick"] : [])]);
  if (nf4Run.status !== 0) throw new Error(`nf4-phi2 part failed: ${nf4Run.stderr}`);
  const nf4 = { ...JSON.parse(nf4Run.stdout.trim().split("\n").at(-1)!), peakRssBytes: nf4Run.peakRssBytes };
  results.nf4Phi2 = nf4;

  // init-model --preset phi-2 through the built CLI
  const cli = path.resolve(path.dirname(script), "../../bin/tunegraph.js");
  const out = await mkdtemp(path.join(os.tmpdir(), "tg-bench-"));
  let init: Record<string, unknown>;
  try {
    const extra = quick ? ["--config", '{"num_hidden_layers": 2}'] : [];
    const r = await runNodeChild(cli, ["init-model", "--preset", "phi-2", ...extra, "--out", path.join(out, "phi-2"), "--dtype", "f32"]);
    init = { layers: quick ? 2 : 32, dtype: "F32", status: r.status, seconds: r.seconds, peakRssBytes: r.peakRssBytes, output: (r.status === 0 ? r.stdout : r.stderr).trim().split("\n").at(-1) };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  results.initModelPhi2 = init;

  const gb = (b: number) => b / 1e9;
  printTable("phi-2 sizes", ["measure", "layers", "seconds", "peak RSS GB", "note"], [
    ["NF4 quantize (double quant)", nf4.layers, nf4.seconds, gb(nf4.peakRssBytes), `${nf4.bytesPerWeight.toFixed(4)} B/weight, ${(nf4.weightsPerSecond / 1e6).toFixed(1)} M weights/s`],
    ["init-model --preset phi-2", init.layers as number, init.seconds as number, gb(init.peakRssBytes as number), init.status === 0 ? "ok" : `failed: ${String(init.output)}`],
  ]);
  const date = new Date().toISOString().slice(0, 10);
  const file = await writeResults(`forward-${date}${quick ? "-quick" : ""}`, results);
  process.stdout.write(`\nwrote ${file}\n`);
}

await main();
