/**
 * `npm run bench:generate [-- --quick] [--precision int4|fp32] [--block-size N] [--work DIR] [--keep] [--threads N]`: serving speed on
 * a Phi with random weights. Full mode: phi-2 sizes (init-model, merge of a random rank-8 q/v adapter, export), then
 * single-stream decode (and GB/s of weights read), prefill of a 512-token prompt, time to first token, 8 concurrent
 * streams, transformers.js on the same model as a ratio, peak RSS; multi-LoRA against the merged model and the
 * sampler's cost (lib/multi-lora.ts); and the llama.cpp peer (node-llama-cpp, lib/llama-cpp.ts) on the Q4_0 GGUF export
 * of the same merged weights, with each figure's ratio to it and to the read bandwidth measured in the same run. Quick
 * mode: the same on a small model, in seconds.
 * With --keep the models stay in --work and the next run reuses those that were completed.
 * Prints a table and, as the last line, the results as JSON; writes bench/results/generate[-quick][-fp32].json.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { OnnxBackend } from "../src/backends/onnx/backend.js";
import { exportModel } from "../src/backends/onnx/export/export.js";
import { INT4_BLOCK_SIZE } from "../src/backends/onnx/export/phi-graph.js";
import type { GenerationResult, Precision } from "../src/backends/types.js";
import { presetConfig, type PhiConfig } from "../src/model/config.js";
import { initModel } from "../src/model/init.js";
import { exportGguf, ggufFileName } from "../src/model/gguf/phi2.js";
import { mergeAdapter } from "../src/model/merge.js";
import { multiLoraBench, multiLoraRows, randomQvAdapter } from "./lib/multi-lora.js";
import { PhiTokenizer } from "../src/model/tokenizer.js";
import { measureReadBandwidth } from "./lib/bandwidth.js";
import { measureLlamaCpp } from "./lib/llama-cpp.js";

interface Plan {
  mode: "full" | "quick";
  config: PhiConfig;
  promptTokens: number; // prefill benchmark
  decodeTokens: number; // single stream and per concurrent stream
  streams: number;
}

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag("--quick");
const threads = Number(value("--threads") ?? 0);
const precision = (value("--precision") ?? "int4") as Precision;
if (precision !== "int4" && precision !== "fp32") throw new Error(`--precision must be int4 or fp32, got ${precision}`);
const blockSize = Number(value("--block-size") ?? INT4_BLOCK_SIZE); // int4 only
const variant = `${precision}${precision === "int4" && blockSize !== INT4_BLOCK_SIZE ? `-b${blockSize}` : ""}`;
const work = path.resolve(value("--work") ?? path.join(os.tmpdir(), `tunegraph-bench-generate${quick ? "-quick" : ""}`));

const plan: Plan = quick
  ? { mode: "quick", config: presetConfig("tiny", { hidden_size: 256, intermediate_size: 1024, num_hidden_layers: 4, num_attention_heads: 8 }), promptTokens: 128, decodeTokens: 32, streams: 8 }
  : { mode: "full", config: presetConfig("phi-2"), promptTokens: 512, decodeTokens: 128, streams: 8 };

const dirs = { base: path.join(work, "base"), adapter: path.join(work, "adapter"), merged: path.join(work, "merged"), exported: path.join(work, `exported-${variant}`), gguf: path.join(work, "gguf-q4_0") };
const rssMb = () => process.resourceUsage().maxRSS / 1024;

/** merge and export each run in a child process (this script again, `--phase NAME`) so that each has its own peak RSS. */
async function phase(name: string): Promise<{ seconds: number; peakRssMb: number }> {
  const started = performance.now();
  if (name === "merge") await mergeAdapter(dirs.base, dirs.adapter, dirs.merged);
  else if (name === "export") await exportModel(dirs.merged, dirs.exported, { precision, blockSize });
  else if (name === "gguf") await exportGguf(dirs.merged, dirs.gguf, "q4_0");
  return { seconds: (performance.now() - started) / 1000, peakRssMb: rssMb() };
}

function inChild(name: string): { seconds: number; peakRssMb: number } {
  const script = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [script, "--phase", name, "--work", work, "--precision", precision, "--block-size", String(blockSize), ...(quick ? ["--quick"] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error(`bench phase ${name} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

/** Build what is missing (a `.done` marker beside each completed directory); each phase's time and peak RSS. */
async function prepare(): Promise<Record<string, { seconds: number; peakRssMb: number }>> {
  await mkdir(work, { recursive: true });
  const timings: Record<string, { seconds: number; peakRssMb: number }> = {};
  const step = async (name: string, dir: string, build: () => Promise<{ seconds: number; peakRssMb: number }>) => {
    if (existsSync(`${dir}.done`)) return;
    await rm(dir, { recursive: true, force: true });
    timings[name] = await build();
    await writeFile(`${dir}.done`, "");
  };
  await step("init", dirs.base, async () => {
    const t = performance.now();
    await initModel({ config: plan.config, out: dirs.base, seed: 1, dtype: "F32" });
    return { seconds: (performance.now() - t) / 1000, peakRssMb: rssMb() };
  });
  await step("adapter", dirs.adapter, async () => {
    const t = performance.now();
    await randomQvAdapter(dirs.adapter, plan.config, 2);
    return { seconds: (performance.now() - t) / 1000, peakRssMb: rssMb() };
  });
  await step("merge", dirs.merged, async () => inChild("merge"));
  await step("export", dirs.exported, async () => inChild("export"));
  await step("gguf", dirs.gguf, async () => inChild("gguf"));
  return timings;
}

/** Bytes a decode step reads: every weight except the embedding table, of which it gathers one row. */
async function weightBytesPerToken(): Promise<number> {
  const onnxDir = path.join(dirs.exported, "onnx");
  let total = 0;
  for (const f of await readdir(onnxDir)) total += (await stat(path.join(onnxDir, f))).size;
  return total - plan.config.vocab_size * plan.config.hidden_size * 4;
}

const SHORT_PROMPT = "Once upon a time";

function promptOf(n: number, backendTokens: (t: string) => number[]): string {
  let text = "The history of the city begins with a small settlement by the river.";
  while (backendTokens(text).length < n) text += " Traders came from the north and the south, and the market grew every year.";
  return text;
}

async function serve(): Promise<Record<string, number>> {
  const backend = new OnnxBackend({ threads, maxBatchSize: plan.streams, maxNewTokens: plan.decodeTokens });
  const t = performance.now();
  const model = await backend.load(dirs.exported);
  const loadSeconds = (performance.now() - t) / 1000;
  const tokenizer = model.tokenizer;
  const encode = (s: string) => tokenizer.encode(s);
  const long = tokenizer.decode(encode(promptOf(plan.promptTokens, encode)).slice(0, plan.promptTokens));
  const short = SHORT_PROMPT;
  await model.generate({ prompt: short, maxNewTokens: 2 }); // warm-up

  const pre = await model.generate({ prompt: long, maxNewTokens: 1, truncate: true });
  const single = await model.generate({ prompt: short, maxNewTokens: plan.decodeTokens });
  // aggregate tokens/s of n requests sent together (they share decode steps)
  const aggregateOf = async (n: number): Promise<number> => {
    const t0 = performance.now();
    const many: GenerationResult[] = await Promise.all(Array.from({ length: n }, (_, i) => model.generate({ prompt: `${short} ${i}`, maxNewTokens: plan.decodeTokens })));
    return many.reduce((sum, r) => sum + r.completionTokens, 0) / ((performance.now() - t0) / 1000);
  };
  const aggregate4 = await aggregateOf(Math.min(4, plan.streams));
  const aggregate = await aggregateOf(plan.streams);
  const t1 = performance.now();
  const alone = await model.generate({ prompt: short, maxNewTokens: plan.decodeTokens });
  const wall1 = (performance.now() - t1) / 1000;
  await backend.close();
  const weightBytes = await weightBytesPerToken();
  return {
    loadSeconds,
    prefillPromptTokens: pre.promptTokens,
    prefillTokensPerSecond: pre.promptTokens / (pre.timeToFirstTokenMs / 1000),
    timeToFirstTokenMs: pre.timeToFirstTokenMs,
    decodeTokens: single.completionTokens,
    decodeTokensPerSecond: single.tokensPerSecond,
    weightGBPerToken: weightBytes / 1e9,
    weightGBPerSecond: (single.tokensPerSecond * weightBytes) / 1e9,
    streams: plan.streams,
    aggregate4TokensPerSecond: aggregate4,
    aggregateTokensPerSecond: aggregate,
    aggregateOverSingle: aggregate / (alone.completionTokens / wall1),
    endToEndTokensPerSecond: alone.completionTokens / wall1,
    peakRssMb: rssMb(),
  };
}

/** transformers.js' text-generation pipeline on the same directory, greedy, end to end like `endToEndTokensPerSecond`. */
async function transformersJs(): Promise<Record<string, number>> {
  const { env, pipeline } = await import("@huggingface/transformers");
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(dirs.exported);
  const generator = await pipeline("text-generation", path.basename(dirs.exported), { dtype: "fp32", device: "cpu" });
  const opts = { max_new_tokens: plan.decodeTokens, min_new_tokens: plan.decodeTokens, do_sample: false };
  await generator("Once upon a time", { ...opts, max_new_tokens: 2, min_new_tokens: 2 });
  const t = performance.now();
  await generator("Once upon a time", opts);
  const seconds = (performance.now() - t) / 1000;
  await generator.dispose();
  return { tokensPerSecond: plan.decodeTokens / seconds, peakRssMb: rssMb() };
}

async function main(): Promise<void> {
  const sub = value("--phase");
  if (sub) {
    process.stdout.write(`${JSON.stringify(await phase(sub))}\n`);
    return;
  }
  console.log(`bench:generate (${plan.mode}): hidden ${plan.config.hidden_size}, ${plan.config.num_hidden_layers} layers, ${variant}, ${threads || os.availableParallelism()} threads, in ${work}`);
  const prepared = await prepare();
  const ours = await serve();
  const multiLora = await multiLoraBench({ config: plan.config, work, baseDir: dirs.base, adapterDir: dirs.adapter, mergedExport: dirs.exported, precision, blockSize, threads, streams: plan.streams, decodeTokens: plan.decodeTokens });
  const tjs = await transformersJs();
  // the llama.cpp peer on the same prompts (token ids from our tokenizer), then this machine's read bandwidth
  const tokenizer = PhiTokenizer.builtin();
  const longPrompt = tokenizer.encode(promptOf(plan.promptTokens, (t) => tokenizer.encode(t))).slice(0, plan.promptTokens);
  const shortPrompts = Array.from({ length: plan.streams }, (_, i) => tokenizer.encode(i === 0 ? SHORT_PROMPT : `${SHORT_PROMPT} ${i}`));
  const llamaCpp = await measureLlamaCpp({ gguf: path.join(dirs.gguf, ggufFileName("q4_0")), threads: threads || os.availableParallelism(), longPrompt, shortPrompts, decodeTokens: plan.decodeTokens });
  const bandwidth = await measureReadBandwidth({ bytes: quick ? 2 ** 28 : 2 ** 31, threads: threads || os.availableParallelism() });
  const share = (gbps: number) => `${gbps.toFixed(1)} GB/s, ${((100 * gbps) / bandwidth.bestGBps).toFixed(0)} % of ${bandwidth.bestGBps.toFixed(1)}`;
  const vs = (a: number, b: number) => `${a.toFixed(2)} / ${b.toFixed(2)} (${(a / b).toFixed(2)}x)`;
  const timing = (name: string) => (prepared[name] ? `${prepared[name].seconds.toFixed(1)} / ${prepared[name].peakRssMb.toFixed(0)}` : "reused");
  const rows: [string, string][] = [
    ["init-model (s / peak RSS MB)", timing("init")],
    ["merge (s / peak RSS MB)", timing("merge")],
    [`export ${variant} (s / peak RSS MB)`, timing("export")],
    ["session load (s)", ours.loadSeconds.toFixed(2)],
    [`prefill ${ours.prefillPromptTokens} tokens (tok/s)`, ours.prefillTokensPerSecond.toFixed(1)],
    ["time to first token (ms)", ours.timeToFirstTokenMs.toFixed(0)],
    [`decode, 1 stream, ${ours.decodeTokens} tokens (tok/s)`, ours.decodeTokensPerSecond.toFixed(2)],
    ["weights read per token (GB) / achieved GB/s", `${ours.weightGBPerToken.toFixed(3)} / ${ours.weightGBPerSecond.toFixed(1)}`],
    ["4 streams, aggregate (tok/s)", ours.aggregate4TokensPerSecond.toFixed(2)],
    [`${ours.streams} streams, aggregate (tok/s) / x one stream`, `${ours.aggregateTokensPerSecond.toFixed(2)} / ${ours.aggregateOverSingle.toFixed(2)}x`],
    ["end to end, 1 stream (tok/s): tunegraph / transformers.js", `${ours.endToEndTokensPerSecond.toFixed(2)} / ${tjs.tokensPerSecond.toFixed(2)} (${(ours.endToEndTokensPerSecond / tjs.tokensPerSecond).toFixed(2)}x)`],
    ["peak RSS serving / with transformers.js (MB)", `${ours.peakRssMb.toFixed(0)} / ${tjs.peakRssMb.toFixed(0)}`],
    ...multiLoraRows(multiLora, plan.streams, variant),
    [`llama.cpp: ${llamaCpp.release}, ${llamaCpp.buildType}, CPU variant`, llamaCpp.cpuVariant],
    ["llama.cpp: CPU features", llamaCpp.cpuFeatures],
    [`prefill ${ours.prefillPromptTokens} tokens (tok/s): tunegraph / llama.cpp`, vs(ours.prefillTokensPerSecond, llamaCpp.prefillTokensPerSecond)],
    ["decode, 1 stream (tok/s): tunegraph / llama.cpp Q4_0", vs(ours.decodeTokensPerSecond, llamaCpp.decodeTokensPerSecond)],
    [`${ours.streams} streams, aggregate (tok/s): tunegraph / llama.cpp`, vs(ours.aggregateTokensPerSecond, llamaCpp.aggregateTokensPerSecond)],
    ["weights read per token (GB): tunegraph / llama.cpp", vs(ours.weightGBPerToken, llamaCpp.weightGBPerToken)],
    ["achieved read bandwidth, decode: tunegraph", share(ours.weightGBPerSecond)],
    ["achieved read bandwidth, decode: llama.cpp", share(llamaCpp.weightGBPerSecond)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  const results = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "results");
  await mkdir(results, { recursive: true });
  const file = path.join(results, `generate${quick ? "-quick" : ""}${variant === "int4" ? "" : `-${variant}`}.json`);
  const { config, ...shape } = plan;
  const report = { date: new Date().toISOString(), cpus: os.cpus().length, threads: threads || os.availableParallelism(), precision, ...(precision === "int4" ? { blockSize } : {}), ...shape, hidden_size: config.hidden_size, num_hidden_layers: config.num_hidden_layers, prepared, ours, multiLora, transformersJs: tjs, llamaCpp, readBandwidthGBps: bandwidth.bestGBps,
    vsLlamaCpp: { prefill: ours.prefillTokensPerSecond / llamaCpp.prefillTokensPerSecond, decode: ours.decodeTokensPerSecond / llamaCpp.decodeTokensPerSecond, aggregate: ours.aggregateTokensPerSecond / llamaCpp.aggregateTokensPerSecond } };
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
  if (!flag("--keep")) await rm(work, { recursive: true, force: true });
  console.log(JSON.stringify(report));
}

await main();
