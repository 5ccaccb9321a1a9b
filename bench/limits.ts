/**
 * `node dist/bench/limits.js [--quick] [--json]`: this machine's physical limits, measured now: memory read bandwidth
 * (the ceiling of decode, one read of every weight per token) and the matMul peak of each engine (the denominator of
 * training utilization), how much ORT's int4 kernel gains from 8 rows over 1 (the ceiling of batched decode), and
 * the decode / prefill / 8-stream rates that MatMulNBits alone allows a phi-2 int4 export (lib/int4-bounds.ts), and
 * what ORT's attention kernels add to them (lib/attention-bound.ts).
 * `npm run bench` runs it in every round, so each ratio against a limit comes from one run.
 */
import { measureAttention, type AttentionBoundResult } from "./lib/attention-bound.js";
import { measureReadBandwidth, type BandwidthResult } from "./lib/bandwidth.js";
import { measureInt4Bounds, type Int4BoundsResult } from "./lib/int4-bounds.js";
import { measureInt4Rows, type Int4RowsResult } from "./lib/int4-rows.js";
import { presetConfig } from "../src/model/config.js";
import { ortMatMulPeak, tfjsMatMulPeak, type PeakResult } from "./lib/peak.js";
import { printTable } from "./lib/report.js";

export interface Limits {
  bandwidth: BandwidthResult;
  /** One intra-op thread: what a single decode thread could read. */
  bandwidthOneThread: BandwidthResult;
  peaks: PeakResult[];
  /** MatMulNBits with 1 and 8 rows, at the export's default block (32) and at 128. */
  int4Rows: Int4RowsResult[];
  /** phi-2's linears on MatMulNBits alone, at block 32 and 128: upper bounds of decode, prefill and 8 streams */
  int4Bounds: Int4BoundsResult[];
  /** phi-2's attention alone, per layer: a decode step at the cache length of bench:generate's decode, and its prompt */
  attention: AttentionBoundResult;
  /** int4Bounds with attention added as served (decode-graph.ts: the past read in place decoding, GroupQueryAttention prefilling) */
  servedBounds: { blockSize: number; decode: number; prefill: number }[];
}

const args = process.argv.slice(2);
const quick = args.includes("--quick");

async function main(): Promise<void> {
  const bytes = quick ? 2 ** 28 : 2 ** 31;
  const size = quick ? 1024 : 2048;
  const repetitions = quick ? 3 : 5;
  const limits: Limits = {
    bandwidth: await measureReadBandwidth({ bytes, repetitions }),
    bandwidthOneThread: await measureReadBandwidth({ bytes, repetitions, threads: 1 }),
    peaks: [await ortMatMulPeak({ size, repetitions }), await tfjsMatMulPeak({ size, repetitions })],
    int4Rows: [await measureInt4Rows({ blockSize: 32, repetitions: 2 * repetitions }), await measureInt4Rows({ blockSize: 128, repetitions: 2 * repetitions })],
    int4Bounds: [],
    attention: await measureAttention({ config: presetConfig("phi-2"), past: quick ? 160 : 576, promptRows: quick ? 128 : 512, repetitions }),
    servedBounds: [],
  };
  const L = presetConfig("phi-2").num_hidden_layers;
  for (const blockSize of [32, 128]) {
    const b = await measureInt4Bounds({ config: presetConfig("phi-2"), blockSize, layers: quick ? 2 : 4, prefillRows: quick ? 128 : 512, repetitions });
    limits.int4Bounds.push(b);
    const a = limits.attention;
    limits.servedBounds.push({
      blockSize,
      decode: 1000 / (1000 / b.decodeBound + L * a.servedDecodeMs),
      prefill: (b.prefillRows * 1000) / ((b.prefillRows * 1000) / b.prefillBound + L * a.gqaPromptMs),
    });
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" ");
  printTable("Memory read bandwidth (GB/s; best of the repetitions after a warm-up)", ["method", "best", "all"],
    [limits.bandwidth, limits.bandwidthOneThread].map((b) => [b.method, b.bestGBps, fmt(b.samplesGBps)]), 1);
  printTable("matMul peak (GFLOP/s, float32 n×n · n×n; best of the repetitions)", ["engine", "n", "threads", "best", "all"],
    limits.peaks.map((p) => [p.engine, String(p.size), String(p.threads), p.bestGflops, fmt(p.samplesGflops)]), 1);
  printTable("int4 MatMulNBits, lm_head of phi-2 (2560 → 51200; best ms): what 8 rows cost over 1", ["block", "1 row ms", "8 rows ms", "8-row GOP/s", "ceiling 8·t1/t8"],
    limits.int4Rows.map((r) => [String(r.blockSize), r.oneRowMs.toFixed(2), r.eightRowsMs.toFixed(2), r.eightRowsGops.toFixed(0), r.eightStreamCeiling.toFixed(2)]), 1);
  printTable("phi-2's linears on int4 MatMulNBits alone (no attention, norms or copies): upper bounds, tok/s", ["block", "GB/token", "decode", "GB/s", "prefill", "rows", "GOP/s", "8 streams"],
    limits.int4Bounds.map((b) => [String(b.blockSize), b.weightGBPerToken.toFixed(3), b.decodeBound.toFixed(1), b.decodeGBps.toFixed(1), b.prefillBound.toFixed(1), String(b.prefillRows), b.prefillGops.toFixed(0), b.eightStreamBound.toFixed(1)]), 1);
  const a = limits.attention;
  printTable(`phi-2's attention alone, one layer, float32 cache (best ms): a decode step at ${a.past} cached tokens, a ${a.promptRows}-token prompt`, ["attention", "decode ms", "prompt ms"],
    [["the export's MultiHeadAttention (present copied)", a.mhaDecodeMs.toFixed(3), a.mhaPromptMs.toFixed(1)], ["served: past read in place / GroupQueryAttention", a.servedDecodeMs.toFixed(3), a.gqaPromptMs.toFixed(1)]], 1);
  printTable("phi-2 int4 upper bounds with attention as served (linears + attention), tok/s", ["block", "decode", "prefill"],
    limits.servedBounds.map((b) => [String(b.blockSize), b.decode.toFixed(1), b.prefill.toFixed(1)]), 1);
  // last, on one line, for bench/all.ts
  if (args.includes("--json")) process.stdout.write(`${JSON.stringify(limits)}\n`);
}

await main();
