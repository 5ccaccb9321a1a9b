/**
 * Multi-LoRA serving against a merged model, for bench:generate: 8 streams spread over 4 adapters on one
 * adapter-ready export of the base against 8 streams on the merged model's export (same precision, same run), the
 * time to load an adapter and to stack 4 of them, and the sampler's cost per token at phi-2's vocabulary.
 */
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { AdapterCache } from "../../src/backends/onnx/adapter-cache.js";
import { OnnxBackend } from "../../src/backends/onnx/backend.js";
import { exportModel } from "../../src/backends/onnx/export/export.js";
import { LoraStack, type LoraSpec } from "../../src/backends/onnx/lora-stack.js";
import type { GenerationResult, Precision } from "../../src/backends/types.js";
import type { PhiConfig } from "../../src/model/config.js";
import { loraConfig, writeAdapter } from "../../src/model/peft.js";
import { linearFeatures, modulePath, type LinearModule } from "../../src/model/phi-layout.js";
import { Rng } from "../../src/model/random.js";
import { samplerCost, type SamplerCost } from "./sampler-cost.js";

const TARGETS: LinearModule[] = ["q_proj", "v_proj"];
const ADAPTERS = 4;

/** A random rank-8 adapter on q_proj and v_proj (the reference job's shape). */
export async function randomQvAdapter(dir: string, config: PhiConfig, seed: number): Promise<void> {
  const rng = new Rng(seed, "adapter");
  const weights = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const m of TARGETS) {
      const [inF, outF] = linearFeatures(config, m);
      weights.push({ module: modulePath(l, m), inFeatures: inF, outFeatures: outF, A: rng.fillNormal(new Float32Array(8 * inF), 0.02), B: rng.fillNormal(new Float32Array(outF * 8), 0.02) });
    }
  }
  await writeAdapter(dir, loraConfig({ r: 8, loraAlpha: 16, loraDropout: 0.1, targetModules: TARGETS }), weights);
}

export interface MultiLoraSetup {
  config: PhiConfig;
  work: string;
  baseDir: string; // HF checkpoint of the base
  adapterDir: string; // the adapter merged into `mergedExport`
  mergedExport: string;
  precision: Precision;
  blockSize: number;
  threads: number;
  streams: number;
  decodeTokens: number;
}

export interface MultiLoraResult {
  adapters: number;
  exportSeconds: number | null; // null: reused
  adapterLoadMs: number;
  stackBuildMs: number;
  mergedTokensPerSecond: number;
  multiLoraTokensPerSecond: number;
  multiLoraOverMerged: number;
  sampler: SamplerCost[];
}

export async function multiLoraBench(s: MultiLoraSetup): Promise<MultiLoraResult> {
  const adapterDirs = [s.adapterDir];
  for (let i = 1; i < ADAPTERS; i++) {
    const dir = path.join(s.work, `adapter-${i}`);
    if (!existsSync(`${dir}.done`)) {
      await rm(dir, { recursive: true, force: true });
      await randomQvAdapter(dir, s.config, 2 + i);
      await writeFile(`${dir}.done`, "");
    }
    adapterDirs.push(dir);
  }
  const ready = path.join(s.work, `exported-${s.precision}-adapter-ready`);
  let exportSeconds: number | null = null;
  if (!existsSync(`${ready}.done`)) {
    await rm(ready, { recursive: true, force: true });
    const t = performance.now();
    await exportModel(s.baseDir, ready, { precision: s.precision, blockSize: s.blockSize, lora: { targets: TARGETS, maxRank: 64 } });
    exportSeconds = (performance.now() - t) / 1000;
    await writeFile(`${ready}.done`, "");
  }

  // loading: read and check one adapter (a fresh cache each time), then stack all four as a mixed batch does
  const spec: LoraSpec = { targets: TARGETS, maxRank: 64 };
  const loads: number[] = [];
  for (const dir of adapterDirs) loads.push((await new AdapterCache(s.config, spec).acquire(dir)).loadMs);
  const cache = new AdapterCache(s.config, spec);
  const loaded = await Promise.all(adapterDirs.map((d) => cache.acquire(d)));
  const t = performance.now();
  LoraStack.build(s.config, spec, loaded);
  const stackBuildMs = performance.now() - t;

  const backend = new OnnxBackend({ threads: s.threads, maxBatchSize: s.streams, maxNewTokens: s.decodeTokens, cacheSize: 2 });
  const [merged, multi] = [await backend.load(s.mergedExport), await backend.load(ready)];
  const adapterOf = (i: number): string | undefined => adapterDirs[i % ADAPTERS];
  const round = async (useAdapters: boolean): Promise<number> => {
    const model = useAdapters ? multi : merged;
    const t0 = performance.now();
    const all: GenerationResult[] = await Promise.all(Array.from({ length: s.streams }, (_, i) =>
      model.generate({ prompt: `Once upon a time ${i}`, maxNewTokens: s.decodeTokens, adapter: useAdapters ? adapterOf(i) : undefined })));
    return all.reduce((n, r) => n + r.completionTokens, 0) / ((performance.now() - t0) / 1000);
  };
  // warm-up (loads the adapters into the serving thread), then two alternating rounds each; the better of each
  await Promise.all([merged.generate({ prompt: "Hi", maxNewTokens: 2 }), ...adapterDirs.map((a) => multi.generate({ prompt: "Hi", maxNewTokens: 2, adapter: a }))]);
  const m1 = await round(false), l1 = await round(true), l2 = await round(true), m2 = await round(false);
  await backend.close();
  const mergedTps = Math.max(m1, m2), multiTps = Math.max(l1, l2);
  return {
    adapters: ADAPTERS,
    exportSeconds,
    adapterLoadMs: loads.sort((a, b) => a - b)[loads.length >> 1],
    stackBuildMs,
    mergedTokensPerSecond: mergedTps,
    multiLoraTokensPerSecond: multiTps,
    multiLoraOverMerged: multiTps / mergedTps,
    sampler: samplerCost(),
  };
}

/** The table rows of a result. */
export function multiLoraRows(r: MultiLoraResult, streams: number, precision: string): [string, string][] {
  return [
    [`export ${precision} adapter-ready, q/v (s)`, r.exportSeconds === null ? "reused" : r.exportSeconds.toFixed(1)],
    ["adapter load, r 8 on q/v (ms) / stack of 4 (ms)", `${r.adapterLoadMs.toFixed(1)} / ${r.stackBuildMs.toFixed(1)}`],
    [`${streams} streams over ${r.adapters} adapters / on the merged model (tok/s)`, `${r.multiLoraTokensPerSecond.toFixed(2)} / ${r.mergedTokensPerSecond.toFixed(2)} (${r.multiLoraOverMerged.toFixed(2)}x)`],
    ...r.sampler.map((c): [string, string] => [`sampler at vocab 51200, ${c.setting} (ms/token)`, c.msPerToken.toFixed(3)]),
  ];
}
