/** Summaries over repetitions: the median and its spread. */
import { median } from "./report.js";

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max − min) / |median|, 0 for a single sample. */
  spread: number;
  n: number;
}

export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) throw new Error("summary of no samples");
  const med = median([...xs]);
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  return { median: med, min, max, spread: med === 0 ? 0 : (max - min) / Math.abs(med), n: xs.length };
}

/** Time `fn` `repetitions` times after `warmup` untimed calls; seconds per call. */
export async function timeRepeated(fn: () => Promise<void> | void, repetitions: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const seconds: number[] = [];
  for (let i = 0; i < repetitions; i++) {
    const t = performance.now();
    await fn();
    seconds.push((performance.now() - t) / 1000);
  }
  return seconds;
}
