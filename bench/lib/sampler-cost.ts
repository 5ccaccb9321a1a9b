/** Sampler cost per token at phi-2's vocabulary (51,200), for the sampling settings users pick most. */
import { Sampler, type SamplerOptions } from "../../src/backends/onnx/sampler.js";
import { Rng } from "../../src/model/random.js";

export interface SamplerCost {
  setting: string;
  msPerToken: number;
}

const SETTINGS: [string, Partial<SamplerOptions>][] = [
  ["greedy", { temperature: 0 }],
  ["top-k 50", { topK: 50 }],
  ["top-p 0.9", { topP: 0.9 }],
  ["top-k 50 + top-p 0.9", { topK: 50, topP: 0.9 }],
  ["temperature 0.7 + top-p 0.95", { temperature: 0.7, topP: 0.95 }],
];

/** Median ms per token over rows of logits shaped like a language model's (a few large logits over a normal bulk). */
export function samplerCost(vocab = 51_200, tokens = 200): SamplerCost[] {
  const rng = new Rng(1, "bench-logits");
  const rows = Array.from({ length: 16 }, () => {
    const row = Float32Array.from({ length: vocab }, () => rng.normal() * 2);
    for (let i = 0; i < 20; i++) row[Math.floor(rng.next() * vocab)] += 8 + rng.next() * 6;
    return row;
  });
  const seen = new Set<number>();
  return SETTINGS.map(([setting, o]) => {
    const s = new Sampler({ temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, ...o }, new Rng(2));
    for (let i = 0; i < 20; i++) s.sample(rows[i % rows.length], seen); // warm-up
    const times: number[] = [];
    for (let i = 0; i < tokens; i++) {
      const t = performance.now();
      s.sample(rows[i % rows.length], seen);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { setting, msPerToken: times[times.length >> 1] };
  });
}
