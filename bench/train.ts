/**
 * `npm run bench:train [-- --quick]`: LoRA training steps on every engine here, each configuration in its own child
 * process: the tfjs engines that load, the onnx engine (ORT on the CPU), and a PyTorch peer (bench/peers/lora_step.py,
 * fp32 and bf16 autocast, 2 threads) when /usr/bin/python3 imports torch.
 * For the tiny preset and a mid-size Phi (hidden 512, 8 layers, seq 256, batch 4), full-precision and NF4 bases
 * (LoRA r 8 on q_proj/v_proj, 8-bit AdamW, as the reference job): seconds per step, trained tokens/s, model FLOPs
 * per step against the engine's measured matMul peak (utilization), tensor memory and peak RSS (each configuration
 * in its own child process). Prints a table; writes bench/results/train-<date>[-quick].json.
 * Every engine runs without gradient checkpointing (the default, as HF's). One onnx row alone, e.g. with it on:
 * `node dist/bench/train.js --part onnx --model "mid (512 x 8)" --quant nf4 [--gradient-checkpointing]`.
 *
 * Model FLOPs of one step: the frozen linears cost 2·P·tokens forward and 2·P·tokens for the input gradients
 * (LoRA needs no weight gradients of the base), i.e. 4·P·tokens; attention (QKᵀ and PV, 4·T²·hidden per sequence and
 * layer forward, twice that backward) adds 12·B·T²·hidden·layers. LoRA's own products are negligible at r 8.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { availableEngines, switchEngine, type EngineName } from "../src/backends/tfjs/engine.js";
import { createLora } from "../src/backends/tfjs/lora.js";
import { PhiModel, type Quant } from "../src/backends/tfjs/phi.js";
import { microStep } from "../src/backends/tfjs/step.js";
import { onnxStepEngine } from "../src/backends/onnx/train/step-engine.js";
import { checkWasmHeap } from "../src/backends/tfjs/heap-budget.js";
import { initialLora, loraParams } from "../src/backends/training/lora.js";
import { clipGradients, makeOptimizer } from "../src/backends/training/trainer.js";
import { DEFAULT_HYPERPARAMETERS } from "../src/backends/types.js";
import os from "node:os";
import { presetConfig, rotaryDim, type PhiConfig } from "../src/model/config.js";
import { Rng } from "../src/model/random.js";
import { runNodeChild } from "./lib/child.js";
import { randomLoader } from "./lib/random-weights.js";
import { ortMatMulPeak, tfjsMatMulPeak } from "./lib/peak.js";
import { median, printTable, writeResults, type Cell } from "./lib/report.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);

const MODELS: Record<string, PhiConfig> = {
  tiny: presetConfig("tiny"),
  "mid (512 x 8)": presetConfig("tiny", { hidden_size: 512, intermediate_size: 2048, num_hidden_layers: 8, num_attention_heads: 8 }),
};
/** The reference job (full benchmark only): phi-2's shapes, random weights, batch 4 × 512. */
const REFERENCE = { label: "phi-2 (reference job)", config: presetConfig("phi-2"), batch: 4, seq: 512, steps: 2 };
const PYTHON = "/usr/bin/python3";

interface StepRow {
  /** a tfjs engine, "ort-cpu" (the onnx engine), "torch-fp32" / "torch-bf16" (the PyTorch peer) */
  engine: string;
  /** Threads the engine computes with (wasm: tfjs' threaded build, one per core; see engine.ts). */
  threads: number;
  model: string;
  quant: Quant;
  batch: number;
  seq: number;
  steps: number;
  secondsPerStep: number;
  tokensPerSecond: number;
  gflopPerStep: number;
  gflops: number;
  peakGflops: number;
  utilization: number;
  weightBytes: number;
  tensorBytes: number;
  peakRssBytes?: number;
  /** onnx rows: whether the step recomputed each layer's forward */
  gradientCheckpointing?: boolean;
}

/** Linear weights that stay frozen and are multiplied every step: six per layer and lm_head. */
function frozenLinearParams(c: PhiConfig): number {
  const h = c.hidden_size, m = c.intermediate_size;
  return c.num_hidden_layers * (4 * h * h + 2 * h * m) + c.vocab_size * h;
}

function stepFlops(c: PhiConfig, batch: number, seq: number): number {
  return 4 * frozenLinearParams(c) * batch * seq + 12 * batch * seq * seq * c.hidden_size * c.num_hidden_layers;
}

/** Child part: time training steps of one configuration. */
async function partSteps(engine: EngineName, label: string, quant: Quant): Promise<void> {
  const { threads } = await switchEngine(engine);
  const config = MODELS[label];
  const [batch, seq] = quick ? (label === "tiny" ? [2, 64] : [1, 64]) : [4, label === "tiny" ? 128 : 256];
  const steps = quick ? 2 : label === "tiny" ? 10 : 3;
  const peak = await tfjsMatMulPeak({ engine, size: quick ? 512 : 1024, repetitions: quick ? 2 : 5 });
  const model = await PhiModel.load(config, randomLoader(config), { quant });
  const hp = DEFAULT_HYPERPARAMETERS;
  const lora = createLora(config, hp, 1);
  const vars = lora.flatMap((l) => [l.at, l.bt]);
  const params = vars.map((v) => (v.dataSync() as Float32Array).slice());
  const optimizer = makeOptimizer(hp, params.map((p) => p.length));
  const rng = new Rng(2, "tokens");
  const ids = Int32Array.from({ length: batch * seq }, () => rng.int(config.vocab_size));
  const b = { inputIds: ids, labels: ids, attentionMask: new Int32Array(batch * seq).fill(1), batchSize: batch, seqLen: seq, tokens: batch * seq };
  const times: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const t0 = performance.now();
    const seeds = lora.map(() => rng.nextUint32());
    const r = microStep(model, lora, b, 1, seeds, false);
    clipGradients(r.grads, hp.maxGradNorm);
    optimizer.step(params, r.grads, hp.learningRate);
    lora.forEach((l, i) => l.assign(params[2 * i], params[2 * i + 1]));
    if (s > 0) times.push((performance.now() - t0) / 1000); // the first step warms up kernels
  }
  const secondsPerStep = median(times);
  const flops = stepFlops(config, batch, seq);
  const w = model.weightBytes();
  const row: StepRow = {
    engine, threads, model: label, quant, batch, seq, steps, secondsPerStep, tokensPerSecond: (batch * seq) / secondsPerStep,
    gflopPerStep: flops / 1e9, gflops: flops / secondsPerStep / 1e9, peakGflops: peak.bestGflops,
    utilization: flops / secondsPerStep / 1e9 / peak.bestGflops, weightBytes: w.linears + w.other, tensorBytes: tf.memory().numBytes,
  };
  lora.forEach((l) => l.dispose());
  model.dispose();
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

function shapeOf(label: string): { config: PhiConfig; batch: number; seq: number; steps: number } {
  if (label === REFERENCE.label) return REFERENCE;
  const [batch, seq] = quick ? (label === "tiny" ? [2, 64] : [1, 64]) : [4, label === "tiny" ? 128 : 256];
  return { config: MODELS[label], batch, seq, steps: quick ? 2 : label === "tiny" ? 10 : 3 };
}

/** Child part: time training steps of the onnx engine (the trainer's own optimizer step included). */
async function partOnnx(label: string, quant: Quant): Promise<void> {
  const { config, batch, seq, steps } = shapeOf(label);
  const peak = await ortMatMulPeak({ size: quick ? 512 : 2048, repetitions: quick ? 2 : 5 });
  const hp = { ...DEFAULT_HYPERPARAMETERS, quant, batchSize: batch, gradientCheckpointing: args.includes("--gradient-checkpointing") };
  const factory = onnxStepEngine("cpu");
  // the engine's own memory check (the reference job fits a 24 GiB machine without checkpointing: about 12.5 GiB)
  factory.checkFits(config, hp, seq);
  const lora = initialLora(config, hp, 1);
  const engine = await factory.load(config, randomLoader(config), hp, lora);
  const params = loraParams(lora, hp.r);
  const optimizer = makeOptimizer(hp, params.map((p) => p.length));
  const rng = new Rng(2, "tokens");
  const ids = Int32Array.from({ length: batch * seq }, () => rng.int(config.vocab_size));
  const b = { inputIds: ids, labels: ids, attentionMask: new Int32Array(batch * seq).fill(1), batchSize: batch, seqLen: seq, tokens: batch * seq };
  const times: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const t0 = performance.now();
    const r = await engine.microStep(b, 1, lora.map(() => rng.nextUint32()));
    clipGradients(r.grads, hp.maxGradNorm);
    optimizer.step(params, r.grads, hp.learningRate);
    engine.setParams(params);
    if (s > 0) times.push((performance.now() - t0) / 1000);
  }
  engine.dispose();
  const secondsPerStep = median(times);
  const flops = stepFlops(config, batch, seq);
  const row: StepRow = {
    engine: factory.info.engine, threads: factory.info.threads, model: label, quant, batch, seq, steps, secondsPerStep,
    tokensPerSecond: (batch * seq) / secondsPerStep, gflopPerStep: flops / 1e9, gflops: flops / secondsPerStep / 1e9,
    peakGflops: peak.bestGflops, utilization: flops / secondsPerStep / 1e9 / peak.bestGflops, weightBytes: 0, tensorBytes: 0,
    gradientCheckpointing: hp.gradientCheckpointing,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

/** The PyTorch peer on the same shapes (fp32 weights: PyTorch on a CPU has no NF4), or null without torch. */
function torchRow(label: string, mode: "fp32" | "bf16", peakGflops: number): StepRow | null {
  if (spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status !== 0) return null;
  const { config: c, batch, seq, steps } = shapeOf(label);
  const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/peers/lora_step.py");
  const threads = Math.min(2, os.availableParallelism());
  const spec = { hidden: c.hidden_size, intermediate: c.intermediate_size, layers: c.num_hidden_layers, heads: c.num_attention_heads, vocab: c.vocab_size, rotary_dim: rotaryDim(c), batch, seq, steps, r: 8, mode, threads };
  const r = spawnSync(PYTHON, [script, JSON.stringify(spec)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`PyTorch peer (${mode}): ${r.stderr.trim().split("\n").slice(-2).join(" ")}`);
  const { secondsPerStep } = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { secondsPerStep: number };
  const flops = stepFlops(c, batch, seq);
  return {
    engine: `torch-${mode}`, threads, model: label, quant: "none", batch, seq, steps, secondsPerStep, tokensPerSecond: (batch * seq) / secondsPerStep,
    gflopPerStep: flops / 1e9, gflops: flops / secondsPerStep / 1e9, peakGflops, utilization: flops / secondsPerStep / 1e9 / peakGflops, weightBytes: 0, tensorBytes: 0,
  };
}

async function main(): Promise<void> {
  if (arg("--part") === "steps") return partSteps(arg("--engine") as EngineName, arg("--model")!, arg("--quant") as Quant);
  if (arg("--part") === "onnx") return partOnnx(arg("--model")!, arg("--quant") as Quant);
  const script = fileURLToPath(import.meta.url);
  const rows: StepRow[] = [];
  for (const engine of await availableEngines()) {
    for (const label of Object.keys(MODELS)) {
      for (const quant of ["none", "nf4"] as const) {
        if (engine === "cpu" && label !== "tiny") continue; // plain cpu: ~40x slower than wasm
        const r = await runNodeChild(script, ["--part", "steps", "--engine", engine, "--model", label, "--quant", quant, ...(quick ? ["--quick"] : [])]);
        if (r.status !== 0) throw new Error(`${engine} ${label} ${quant}: ${r.stderr.trim().split("\n").slice(-3).join(" ")}`);
        rows.push({ ...(JSON.parse(r.stdout.trim().split("\n").at(-1)!) as StepRow), peakRssBytes: r.peakRssBytes });
      }
    }
  }
  const child = async (args: string[]): Promise<StepRow> => {
    const r = await runNodeChild(script, [...args, ...(quick ? ["--quick"] : [])]);
    if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr.trim().split("\n").slice(-3).join(" ")}`);
    return { ...(JSON.parse(r.stdout.trim().split("\n").at(-1)!) as StepRow), peakRssBytes: r.peakRssBytes };
  };
  for (const label of Object.keys(MODELS)) for (const quant of ["none", "nf4"] as const) rows.push(await child(["--part", "onnx", "--model", label, "--quant", quant]));
  const mid = "mid (512 x 8)";
  const ortPeak = rows.find((r) => r.engine === "ort-cpu")!.peakGflops;
  const torch = (["fp32", "bf16"] as const).map((mode) => torchRow(mid, mode, ortPeak)).filter((r): r is StepRow => r !== null);
  if (torch.length === 0) process.stdout.write(`PyTorch peer skipped: ${PYTHON} does not import torch\n`);
  rows.push(...torch);
  // the reference job: onnx runs it; tfjs' wasm heap guard refuses it (recorded as such)
  let reference: { refusedByTfjs: string | null } | null = null;
  if (!quick) {
    rows.push(await child(["--part", "onnx", "--model", REFERENCE.label, "--quant", "nf4"]));
    let refusedByTfjs: string | null = null;
    try {
      // the guard's verdict alone: this process holds no tfjs tensors (and its engine is not started, so tf.memory() would throw)
      checkWasmHeap(REFERENCE.config, { ...DEFAULT_HYPERPARAMETERS, batchSize: REFERENCE.batch, maxSeqLength: REFERENCE.seq }, REFERENCE.seq, 0);
    } catch (e) {
      refusedByTfjs = (e as Error).message;
    }
    reference = { refusedByTfjs };
    if (refusedByTfjs) process.stdout.write(`tfjs on the reference job: ${refusedByTfjs}\n`);
  }
  const tokS = (engine: string, quant: string) => rows.find((r) => r.engine === engine && r.model === mid && r.quant === quant)?.tokensPerSecond;
  const ratios = {
    onnxOverWasmNf4: (tokS("ort-cpu", "nf4") ?? NaN) / (tokS("wasm", "nf4") ?? NaN),
    onnxNf4OverTorchBf16: (tokS("ort-cpu", "nf4") ?? NaN) / (tokS("torch-bf16", "none") ?? NaN),
    onnxNf4OverTorchFp32: (tokS("ort-cpu", "nf4") ?? NaN) / (tokS("torch-fp32", "none") ?? NaN),
  };
  const mb = (b: number | undefined) => (b === undefined ? null : b / 2 ** 20);
  printTable("LoRA training step (r 8 on q_proj,v_proj, adamw8bit; median, first step excluded)",
    ["engine", "threads", "model", "quant", "batch x seq", "s/step", "tokens/s", "GFLOP/step", "GFLOP/s", "peak GFLOP/s", "util", "weights MB", "tensors MB", "peak RSS MB"],
    rows.map((r): Cell[] => [r.engine, r.threads, r.model, r.quant, `${r.batch} x ${r.seq}`, r.secondsPerStep, r.tokensPerSecond, r.gflopPerStep, r.gflops, r.peakGflops, r.utilization, mb(r.weightBytes), mb(r.tensorBytes), mb(r.peakRssBytes)]));
  const date = new Date().toISOString().slice(0, 10);
  const ref = rows.find((r) => r.model === REFERENCE.label);
  if (ref) process.stdout.write(`\nreference job on ${ref.engine}: ${ref.secondsPerStep.toFixed(1)} s/step, peak RSS ${((ref.peakRssBytes ?? 0) / 2 ** 30).toFixed(2)} GiB, 5000 steps ≈ ${(ref.secondsPerStep * 5000 / 3600).toFixed(1)} h\n`);
  process.stdout.write(`\nmid model, tokens/s: onnx nf4 / tfjs-wasm nf4 = ${ratios.onnxOverWasmNf4.toFixed(2)}, onnx nf4 / torch bf16 = ${ratios.onnxNf4OverTorchBf16.toFixed(2)}, onnx nf4 / torch fp32 = ${ratios.onnxNf4OverTorchFp32.toFixed(2)}\n`);
  const file = await writeResults(`train-${date}${quick ? "-quick" : ""}`, { mode: quick ? "quick" : "full", steps: rows, ratios, reference });
  process.stdout.write(`\nwrote ${file}\n`);
}

await main();
