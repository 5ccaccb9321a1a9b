/**
 * The llama.cpp peer of bench/generate.ts: node-llama-cpp's prebuilt llama.cpp (CPU) on the GGUF export of the same
 * weights, measured the way tunegraph is measured there: prefill of one long prompt (time to first token), greedy
 * single-stream decode ((tokens − 1) over the time from the first token to the last), and the aggregate of n streams
 * sent together (one context with n sequences, which llama.cpp decodes in shared batches), prompts included.
 * Also what it ran on: the llama.cpp release, the CPU backend variant that ggml loaded (GGML_CPU_ALL_VARIANTS builds
 * one libggml-cpu-<arch>.so per x86 generation and picks the best this CPU runs) and the CPU features it reports.
 */
import { readFile, stat } from "node:fs/promises";
import { getLlama, LlamaLogLevel, readGgufFileInfo, type LlamaContext, type Token } from "node-llama-cpp";
import { GGML_TYPES, tensorBytes, type GgmlType } from "../../src/model/gguf/file.js";

export interface LlamaCppPeerOptions {
  gguf: string;
  threads: number;
  /** token ids of the long prompt (prefill) */
  longPrompt: number[];
  /** token ids of the short prompt of each stream; the first one is the single stream's */
  shortPrompts: number[][];
  decodeTokens: number;
}

export interface LlamaCppPeerResult {
  release: string;
  buildType: string;
  /** the libggml-cpu-<variant>.so mapped into this process */
  cpuVariant: string;
  /** llama_print_system_info(): the CPU features of that build */
  cpuFeatures: string;
  threads: number;
  ggufBytes: number;
  /** every tensor but the token embedding (of which a step gathers one row) */
  weightGBPerToken: number;
  prefillPromptTokens: number;
  prefillTokensPerSecond: number;
  timeToFirstTokenMs: number;
  decodeTokens: number;
  decodeTokensPerSecond: number;
  weightGBPerSecond: number;
  streams: number;
  aggregateTokensPerSecond: number;
}

const typeById = new Map(Object.entries(GGML_TYPES).map(([name, t]) => [t.id as number, name as GgmlType]));

async function weightBytes(gguf: string): Promise<number> {
  const info = await readGgufFileInfo(gguf, { logWarnings: false });
  let total = 0;
  for (const t of info.fullTensorInfo ?? []) {
    const type = typeById.get(t.ggmlType);
    if (type === undefined) throw new Error(`${gguf}: tensor ${t.name} has ggml type ${t.ggmlType}, which this bench does not size`);
    if (t.name !== "token_embd.weight") total += tensorBytes({ name: t.name, dims: t.dimensions.map(Number), type });
  }
  return total;
}

/** Generate `n` tokens greedily on a new sequence of `context` (freed after); the time each token came out (ms since `t0`). */
async function greedy(context: LlamaContext, prompt: number[], n: number, t0: number): Promise<number[]> {
  const sequence = context.getSequence();
  const times: number[] = [];
  try {
    for await (const _ of sequence.evaluate(prompt as Token[], { temperature: 0 })) {
      times.push(performance.now() - t0);
      if (times.length === n) break;
    }
  } finally {
    sequence.dispose();
  }
  if (times.length !== n) throw new Error(`llama.cpp stopped after ${times.length} of ${n} tokens`);
  return times;
}

export async function measureLlamaCpp(o: LlamaCppPeerOptions): Promise<LlamaCppPeerResult> {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: o.threads });
  try {
    const model = await llama.loadModel({ modelPath: o.gguf });
    const maps = await readFile("/proc/self/maps", "utf8").catch(() => "");
    const cpuVariant = /libggml-cpu-([\w-]+)\.so/.exec(maps)?.[1] ?? "unknown";
    const longest = Math.max(...o.shortPrompts.map((p) => p.length));
    const streams = o.shortPrompts.length;

    // one sequence: the prefill, then (after a warm-up) the single stream
    const one = await model.createContext({ contextSize: o.longPrompt.length + o.decodeTokens + 16, batchSize: o.longPrompt.length, threads: o.threads, sequences: 1 });
    await greedy(one, o.shortPrompts[0], 2, performance.now());
    const [ttft] = await greedy(one, o.longPrompt, 1, performance.now());
    const single = await greedy(one, o.shortPrompts[0], o.decodeTokens, performance.now());
    await one.dispose();

    const many = await model.createContext({ contextSize: streams * (longest + o.decodeTokens + 16), threads: o.threads, sequences: streams });
    const t0 = performance.now();
    await Promise.all(o.shortPrompts.map((p) => greedy(many, p, o.decodeTokens, t0)));
    const aggregateSeconds = (performance.now() - t0) / 1000;
    await many.dispose();
    await model.dispose();

    const bytes = await weightBytes(o.gguf);
    const decodeTokensPerSecond = ((o.decodeTokens - 1) * 1000) / (single[single.length - 1] - single[0]);
    return {
      release: `${llama.llamaCppRelease.repo} ${llama.llamaCppRelease.release}`,
      buildType: llama.buildType,
      cpuVariant,
      cpuFeatures: llama.systemInfo.trim(),
      threads: o.threads,
      ggufBytes: (await stat(o.gguf)).size,
      weightGBPerToken: bytes / 1e9,
      prefillPromptTokens: o.longPrompt.length,
      prefillTokensPerSecond: o.longPrompt.length / (ttft / 1000),
      timeToFirstTokenMs: ttft,
      decodeTokens: o.decodeTokens,
      decodeTokensPerSecond,
      weightGBPerSecond: (decodeTokensPerSecond * bytes) / 1e9,
      streams,
      aggregateTokensPerSecond: (streams * o.decodeTokens) / aggregateSeconds,
    };
  } finally {
    await llama.dispose();
  }
}
