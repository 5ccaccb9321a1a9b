/**
 * `node dist/bench/train-layout.js [--quick]`: the onnx training engine's session layout, measured. The mid-size Phi
 * (hidden 512, 8 layers; batch 4 × 256, or 1 × 64 with --quick), quant none and nf4, r 8 on q_proj/v_proj, dropout
 * 0.1: seconds per micro-step (median, first excluded) and peak RSS, each layout in its own child process.
 *   shared:    one forward and one backward session for all layers, the weights fed as inputs (the engine's choice)
 *   per-layer: a forward and a backward session per layer, its frozen tensors as initializers
 * Prints a table; writes bench/results/train-layout-<date>[-quick].json.
 */
import { fileURLToPath } from "node:url";
import { onnxStepEngine, type SessionLayout } from "../src/backends/onnx/train/step-engine.js";
import { initialLora } from "../src/backends/training/lora.js";
import { DEFAULT_HYPERPARAMETERS } from "../src/backends/types.js";
import { presetConfig } from "../src/model/config.js";
import { Rng } from "../src/model/random.js";
import { runNodeChild } from "./lib/child.js";
import { randomLoader } from "./lib/random-weights.js";
import { median, printTable, writeResults, type Cell } from "./lib/report.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const config = presetConfig("tiny", { hidden_size: 512, intermediate_size: 2048, num_hidden_layers: 8, num_attention_heads: 8 });

interface Row { layout: SessionLayout; quant: "none" | "nf4"; batch: number; seq: number; loadSeconds: number; secondsPerStep: number; peakRssBytes?: number }

async function part(layout: SessionLayout, quant: "none" | "nf4"): Promise<void> {
  const [batch, seq, steps] = quick ? [1, 64, 2] : [4, 256, 3];
  const hp = { ...DEFAULT_HYPERPARAMETERS, quant };
  const lora = initialLora(config, hp, 1);
  const t0 = performance.now();
  const engine = await onnxStepEngine("cpu", undefined, layout).load(config, randomLoader(config), hp, lora);
  const loadSeconds = (performance.now() - t0) / 1000;
  const rng = new Rng(2, "tokens");
  const ids = Int32Array.from({ length: batch * seq }, () => rng.int(config.vocab_size));
  const b = { inputIds: ids, labels: ids, attentionMask: new Int32Array(batch * seq).fill(1), batchSize: batch, seqLen: seq, tokens: batch * seq };
  const times: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const t = performance.now();
    await engine.microStep(b, 1, lora.map(() => rng.nextUint32()));
    if (s > 0) times.push((performance.now() - t) / 1000);
  }
  engine.dispose();
  const row: Row = { layout, quant, batch, seq, loadSeconds, secondsPerStep: median(times) };
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

async function main(): Promise<void> {
  if (arg("--part")) return part(arg("--part") as SessionLayout, arg("--quant") as "none" | "nf4");
  const script = fileURLToPath(import.meta.url);
  const rows: Row[] = [];
  for (const quant of ["none", "nf4"] as const) {
    for (const layout of ["shared", "per-layer"] as const) {
      const r = await runNodeChild(script, ["--part", layout, "--quant", quant, ...(quick ? ["--quick"] : [])]);
      if (r.status !== 0) throw new Error(`${layout} ${quant}: ${r.stderr.trim().split("\n").slice(-3).join(" ")}`);
      rows.push({ ...(JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Row), peakRssBytes: r.peakRssBytes });
    }
  }
  printTable("onnx training engine: session layout (mid-size Phi, r 8 on q_proj,v_proj, dropout 0.1; one micro-step)",
    ["layout", "quant", "batch x seq", "load s", "s/step", "peak RSS MB"],
    rows.map((r): Cell[] => [r.layout, r.quant, `${r.batch} x ${r.seq}`, r.loadSeconds, r.secondsPerStep, (r.peakRssBytes ?? 0) / 2 ** 20]));
  const date = new Date().toISOString().slice(0, 10);
  process.stdout.write(`\nwrote ${await writeResults(`train-layout-${date}${quick ? "-quick" : ""}`, { mode: quick ? "quick" : "full", rows })}\n`);
}

await main();
