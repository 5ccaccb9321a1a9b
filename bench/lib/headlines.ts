/**
 * The figures issue 7 asks for, read out of one round of `npm run bench` (every area script run once, the machine's
 * limits measured beside them), so that each ratio is formed within a round before rounds are summarized.
 */
import type { Limits } from "../limits.js";

export type AreaScript = "forward" | "train" | "generate" | "api";

export interface Round {
  limits?: Limits;
  /** Each area script's JSON, as it wrote it. */
  areas: Partial<Record<AreaScript, unknown>>;
  /** bench/generate.ts run again on the fp32 export of the same model. */
  generateFp32?: unknown;
  /** ... and on an int4 export with block 32 instead of 128. */
  generateB32?: unknown;
}

export interface Headline {
  section: "limits" | "decode" | "prefill" | "concurrency" | "train" | "memory" | "api" | "forward";
  measure: string;
  unit: string;
  value: (r: Round) => number | undefined;
}

/** The number at a dotted path, if there is one. */
export function at(obj: unknown, dotted: string): number | undefined {
  let v: unknown = obj;
  for (const k of dotted.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

const api = (path: string) => (r: Round) => at(r.areas.api, path);
const gen = (path: string) => (r: Round) => at(r.areas.generate, path);
const fwd = (path: string) => (r: Round) => at(r.areas.forward, `results.${path}`);
const bandwidth = (r: Round) => r.limits?.bandwidth.bestGBps;
const peak = (engine: string) => (r: Round) => r.limits?.peaks.find((p) => p.engine === engine)?.bestGflops;
type Row = { engine: string; model: string; quant: string } & Record<string, unknown>;
/**
 * A field of the row for a model and quant in a per-engine list (bench/forward.ts' `forward`, bench/train.ts'
 * `steps`), on the engine listed first: the one the project picks.
 */
const rowField = (script: AreaScript, list: string, model: string, quant: string, field: string) => (r: Round) => {
  const results = (r.areas[script] as { results?: Record<string, unknown> } | undefined)?.results;
  const rows = results?.[list] as Row[] | undefined;
  const row = rows?.find((x) => x.engine === rows[0]?.engine && x.model.startsWith(model) && x.quant === quant);
  return at(row, field);
};
const forwardRate = (model: string, quant: string) => rowField("forward", "forward", model, quant, "tokensPerSecond");
const train = (model: string, quant: string, field: string) => rowField("train", "steps", model, quant, field);
/** bench/train.ts' `steps` row of one engine ("ort-cpu", "torch-bf16"...). */
const trainOn = (engine: string, model: string, quant: string, field: string) => (r: Round) => {
  const rows = (r.areas.train as { results?: { steps?: Row[] } } | undefined)?.results?.steps;
  return at(rows?.find((x) => x.engine === engine && x.model.startsWith(model) && x.quant === quant), field);
};
const mb = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / 2 ** 20);

export const HEADLINES: Headline[] = [
  { section: "limits", measure: "memory read bandwidth, all cores (best)", unit: "GB/s", value: bandwidth },
  { section: "limits", measure: "memory read bandwidth, 1 thread (best)", unit: "GB/s", value: (r) => r.limits?.bandwidthOneThread.bestGBps },
  { section: "limits", measure: "matMul peak, onnxruntime CPU", unit: "GFLOP/s", value: peak("onnxruntime-cpu") },
  { section: "limits", measure: "matMul peak, tfjs (training engine)", unit: "GFLOP/s", value: (r) => r.limits?.peaks.find((p) => p.engine.startsWith("tfjs-"))?.bestGflops },
  { section: "limits", measure: "int4 matMul (block 32), 8 rows: ceiling of 8 streams / 1 (8·t1/t8)", unit: "ratio", value: (r) => r.limits?.int4Rows?.find((x) => x.blockSize === 32)?.eightStreamCeiling },
  { section: "limits", measure: "int4 matMul (block 128), 8 rows: ceiling of 8 streams / 1", unit: "ratio", value: (r) => r.limits?.int4Rows?.find((x) => x.blockSize === 128)?.eightStreamCeiling },

  ...[32, 128].flatMap((block): Headline[] => {
    const b = (r: Round) => r.limits?.int4Bounds?.find((x) => x.blockSize === block);
    const name = `phi-2's linears on int4 MatMulNBits alone (block ${block}): bound`;
    return [
      { section: "limits", measure: `${name}, decode`, unit: "tok/s", value: (r) => b(r)?.decodeBound },
      { section: "limits", measure: `${name}, decode / llama.cpp decode`, unit: "ratio", value: (r) => ratio(b(r)?.decodeBound, gen("llamaCpp.decodeTokensPerSecond")(r)) },
      { section: "limits", measure: `${name}, prefill`, unit: "tok/s", value: (r) => b(r)?.prefillBound },
      { section: "limits", measure: `${name}, prefill / llama.cpp prefill`, unit: "ratio", value: (r) => ratio(b(r)?.prefillBound, gen("llamaCpp.prefillTokensPerSecond")(r)) },
      { section: "limits", measure: `${name}, 8 streams`, unit: "tok/s", value: (r) => b(r)?.eightStreamBound },
      { section: "limits", measure: `${name}, 8 streams / llama.cpp aggregate`, unit: "ratio", value: (r) => ratio(b(r)?.eightStreamBound, gen("llamaCpp.aggregateTokensPerSecond")(r)) },
    ];
  }),
  ...[32, 128].flatMap((block): Headline[] => {
    const b = (r: Round) => r.limits?.servedBounds?.find((x) => x.blockSize === block);
    const name = `phi-2 int4 (block ${block}), linears + ORT's attention: bound`;
    return [
      { section: "limits", measure: `${name}, decode / llama.cpp decode`, unit: "ratio", value: (r) => ratio(b(r)?.decode, gen("llamaCpp.decodeTokensPerSecond")(r)) },
      { section: "limits", measure: `${name}, prefill / llama.cpp prefill`, unit: "ratio", value: (r) => ratio(b(r)?.prefill, gen("llamaCpp.prefillTokensPerSecond")(r)) },
    ];
  }),

  { section: "decode", measure: "int4 decode, 1 stream", unit: "tok/s", value: gen("ours.decodeTokensPerSecond") },
  { section: "decode", measure: "weights read per token", unit: "GB", value: gen("ours.weightGBPerToken") },
  { section: "decode", measure: "achieved weight reads", unit: "GB/s", value: gen("ours.weightGBPerSecond") },
  { section: "decode", measure: "achieved / measured read bandwidth", unit: "ratio", value: (r) => ratio(gen("ours.weightGBPerSecond")(r), bandwidth(r)) },
  { section: "decode", measure: "bandwidth ceiling (bandwidth / GB per token)", unit: "tok/s", value: (r) => ratio(bandwidth(r), gen("ours.weightGBPerToken")(r)) },
  { section: "decode", measure: "end to end, 1 stream: tunegraph", unit: "tok/s", value: gen("ours.endToEndTokensPerSecond") },
  { section: "decode", measure: "end to end, 1 stream: transformers.js, same model", unit: "tok/s", value: gen("transformersJs.tokensPerSecond") },
  { section: "decode", measure: "tunegraph / transformers.js", unit: "ratio", value: (r) => ratio(gen("ours.endToEndTokensPerSecond")(r), gen("transformersJs.tokensPerSecond")(r)) },
  { section: "decode", measure: "llama.cpp (node-llama-cpp), Q4_0 GGUF of the same weights, decode, 1 stream", unit: "tok/s", value: gen("llamaCpp.decodeTokensPerSecond") },
  { section: "decode", measure: "tunegraph / llama.cpp decode (target >= 1)", unit: "ratio", value: gen("vsLlamaCpp.decode") },
  { section: "decode", measure: "llama.cpp: weights read per token", unit: "GB", value: gen("llamaCpp.weightGBPerToken") },
  { section: "decode", measure: "llama.cpp: achieved / measured read bandwidth", unit: "ratio", value: (r) => ratio(gen("llamaCpp.weightGBPerSecond")(r), bandwidth(r)) },
  { section: "decode", measure: "fp32 decode, 1 stream", unit: "tok/s", value: (r) => at(r.generateFp32, "ours.decodeTokensPerSecond") },
  { section: "decode", measure: "int4 / fp32 decode", unit: "ratio", value: (r) => ratio(gen("ours.decodeTokensPerSecond")(r), at(r.generateFp32, "ours.decodeTokensPerSecond")) },

  { section: "prefill", measure: "prompt length", unit: "tokens", value: gen("ours.prefillPromptTokens") },
  { section: "prefill", measure: "prefill", unit: "tok/s", value: gen("ours.prefillTokensPerSecond") },
  { section: "prefill", measure: "time to first token", unit: "ms", value: gen("ours.timeToFirstTokenMs") },
  { section: "prefill", measure: "llama.cpp prefill, same prompt", unit: "tok/s", value: gen("llamaCpp.prefillTokensPerSecond") },
  { section: "prefill", measure: "tunegraph / llama.cpp prefill (target >= 1)", unit: "ratio", value: gen("vsLlamaCpp.prefill") },

  { section: "concurrency", measure: "concurrent streams", unit: "streams", value: gen("ours.streams") },
  { section: "concurrency", measure: "aggregate decode, 4 streams", unit: "tok/s", value: gen("ours.aggregate4TokensPerSecond") },
  { section: "concurrency", measure: "aggregate decode", unit: "tok/s", value: gen("ours.aggregateTokensPerSecond") },
  { section: "concurrency", measure: "aggregate / one stream", unit: "ratio", value: gen("ours.aggregateOverSingle") },
  { section: "concurrency", measure: "llama.cpp aggregate decode, same streams", unit: "tok/s", value: gen("llamaCpp.aggregateTokensPerSecond") },
  { section: "concurrency", measure: "tunegraph / llama.cpp aggregate (target >= 1)", unit: "ratio", value: gen("vsLlamaCpp.aggregate") },
  { section: "concurrency", measure: "int4 block 32: decode, 1 stream", unit: "tok/s", value: (r) => at(r.generateB32, "ours.decodeTokensPerSecond") },
  { section: "concurrency", measure: "int4 block 32: aggregate decode", unit: "tok/s", value: (r) => at(r.generateB32, "ours.aggregateTokensPerSecond") },
  { section: "concurrency", measure: "int4 block 32: aggregate / one stream", unit: "ratio", value: (r) => at(r.generateB32, "ours.aggregateOverSingle") },
  { section: "concurrency", measure: "8 streams over 4 adapters / on the merged model", unit: "ratio", value: gen("multiLora.multiLoraOverMerged") },
  { section: "concurrency", measure: "adapter load, r 8 on q/v", unit: "ms", value: gen("multiLora.adapterLoadMs") },

  { section: "forward", measure: "forward, tiny preset, full precision (first engine)", unit: "tok/s", value: forwardRate("tiny", "none") },
  { section: "forward", measure: "forward, tiny preset, NF4 base", unit: "tok/s", value: forwardRate("tiny", "nf4") },
  { section: "forward", measure: "forward, mid-size (hidden 512, 8 layers), full precision", unit: "tok/s", value: forwardRate("mid", "none") },
  { section: "forward", measure: "forward, mid-size, NF4 base", unit: "tok/s", value: forwardRate("mid", "nf4") },

  { section: "train", measure: "LoRA step, tiny preset, full-precision base", unit: "tok/s", value: train("tiny", "none", "tokensPerSecond") },
  { section: "train", measure: "LoRA step, tiny preset, NF4 base", unit: "tok/s", value: train("tiny", "nf4", "tokensPerSecond") },
  { section: "train", measure: "LoRA step, mid-size (hidden 512, 8 layers), full-precision base", unit: "tok/s", value: train("mid", "none", "tokensPerSecond") },
  { section: "train", measure: "LoRA step, mid-size, NF4 base", unit: "tok/s", value: train("mid", "nf4", "tokensPerSecond") },
  { section: "train", measure: "LoRA step time, mid-size, NF4 base", unit: "s", value: train("mid", "nf4", "secondsPerStep") },
  { section: "train", measure: "utilization of the matMul peak, mid-size, full-precision base", unit: "ratio", value: train("mid", "none", "utilization") },
  { section: "train", measure: "utilization of the matMul peak, mid-size, NF4 base", unit: "ratio", value: train("mid", "nf4", "utilization") },
  { section: "train", measure: "onnx engine: LoRA step, mid-size, NF4 base", unit: "tok/s", value: trainOn("ort-cpu", "mid", "nf4", "tokensPerSecond") },
  { section: "train", measure: "onnx / tfjs-wasm tokens/s, mid-size, NF4 (target ≥ 3)", unit: "ratio", value: (r) => ratio(trainOn("ort-cpu", "mid", "nf4", "tokensPerSecond")(r), trainOn("wasm", "mid", "nf4", "tokensPerSecond")(r)) },
  { section: "train", measure: "onnx NF4 / PyTorch bf16 autocast tokens/s, mid-size (target ≥ 1)", unit: "ratio", value: (r) => ratio(trainOn("ort-cpu", "mid", "nf4", "tokensPerSecond")(r), trainOn("torch-bf16", "mid", "none", "tokensPerSecond")(r)) },
  { section: "train", measure: "onnx engine: reference job (phi-2, 4 × 512, NF4) step time", unit: "s", value: trainOn("ort-cpu", "phi-2", "nf4", "secondsPerStep") },
  { section: "train", measure: "NF4 / full-precision base, step time (mid-size)", unit: "ratio", value: (r) => ratio(train("mid", "nf4", "secondsPerStep")(r), train("mid", "none", "secondsPerStep")(r)) },
  { section: "train", measure: "NF4 / full-precision base, weight bytes (mid-size)", unit: "ratio", value: (r) => ratio(train("mid", "nf4", "weightBytes")(r), train("mid", "none", "weightBytes")(r)) },
  { section: "train", measure: "NF4 / full-precision base, peak RSS (mid-size)", unit: "ratio", value: (r) => ratio(train("mid", "nf4", "peakRssBytes")(r), train("mid", "none", "peakRssBytes")(r)) },

  { section: "memory", measure: "init-model --preset phi-2, peak RSS", unit: "MiB", value: (r) => mb(fwd("initModelPhi2.peakRssBytes")(r)) },
  { section: "memory", measure: "NF4 quantization of phi-2's linears, peak RSS", unit: "MiB", value: (r) => mb(fwd("nf4Phi2.peakRssBytes")(r)) },
  { section: "memory", measure: "bytes per weight held by NF4 (double quant)", unit: "B", value: fwd("nf4Phi2.bytesPerWeight") },
  { section: "memory", measure: "merge, peak RSS", unit: "MiB", value: gen("prepared.merge.peakRssMb") },
  { section: "memory", measure: "export int4, peak RSS", unit: "MiB", value: gen("prepared.export.peakRssMb") },
  { section: "memory", measure: "serving int4, peak RSS", unit: "MiB", value: gen("ours.peakRssMb") },

  { section: "api", measure: "trivial query latency while training, p50", unit: "ms", value: api("latency.p50Ms") },
  { section: "api", measure: "trivial query latency while training, p99 (target < 50)", unit: "ms", value: api("latency.p99Ms") },
  { section: "api", measure: "training steps taken during the queries", unit: "steps", value: api("latency.trainingSteps") },
  { section: "api", measure: "generate through the API", unit: "tok/s", value: api("generate.apiTokensPerSecond") },
  { section: "api", measure: "generate on the engine directly", unit: "tok/s", value: api("generate.engineTokensPerSecond") },
  { section: "api", measure: "API / engine", unit: "ratio", value: api("generate.ratio") },
  { section: "api", measure: "chat completions through /v1", unit: "tok/s", value: api("generate.openaiTokensPerSecond") },
  { section: "api", measure: "/v1 / engine", unit: "ratio", value: api("generate.openaiRatio") },
  { section: "api", measure: "latency /v1 adds per request", unit: "ms", value: api("generate.openaiAddedMs") },
  { section: "api", measure: "latency GraphQL adds per request", unit: "ms", value: api("generate.graphqlAddedMs") },
];
