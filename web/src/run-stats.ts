// Numbers the run pages derive from the metric points (pure functions: tests/unit/web/run-stats.test.ts).

export interface TimedPoint {
  step: number;
  tokensPerSecond: number;
  /** ISO time the logging window ended */
  at: string;
}

/**
 * Exponential moving average as W&B's smoothing slider computes it: debiased (the first points are not pulled towards
 * 0), over the points in order; `weight` 0 returns the values, 0.99 is very smooth. Nulls (a non-finite loss) stay null.
 */
export function emaSmooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight > 0)) return [...values];
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

/** Seconds per optimizer step over the last `window` logging windows; null with fewer than two points. */
export function secondsPerStep(points: readonly TimedPoint[], window = 20): number | null {
  const tail = points.slice(-window - 1);
  if (tail.length < 2) return null;
  const first = tail[0]!;
  const last = tail.at(-1)!;
  const steps = last.step - first.step;
  const seconds = (Date.parse(last.at) - Date.parse(first.at)) / 1000;
  return steps > 0 && seconds >= 0 ? seconds / steps : null;
}

/** Seconds left at the recent pace, or null when it cannot be told yet. */
export function etaSeconds(points: readonly TimedPoint[], currentStep: number, maxSteps: number): number | null {
  const pace = secondsPerStep(points);
  return pace === null || maxSteps <= currentStep ? null : pace * (maxSteps - currentStep);
}

/**
 * Tokens trained in the logged windows: each point's tokens/s times its window's length (the time since the previous
 * point; the first window is taken at the run's mean pace per step, since its start also holds the model's loading).
 * An estimate to the precision of the timestamps; null without points.
 */
export function trainedTokens(points: readonly TimedPoint[]): number | null {
  if (points.length === 0) return null;
  const pace = secondsPerStep(points, Infinity);
  let total = 0;
  points.forEach((p, i) => {
    const prev = points[i - 1];
    const seconds = prev ? (Date.parse(p.at) - Date.parse(prev.at)) / 1000 : pace !== null ? pace * p.step : null;
    if (seconds !== null && seconds > 0) total += p.tokensPerSecond * seconds;
  });
  return total;
}

/** 75 → "1m 15s", 3725 → "1h 2m". */
export function fmtDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  const hours = Math.floor(s / 3600);
  return hours < 48 ? `${hours}h ${Math.floor((s % 3600) / 60)}m` : `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** 1234567 → "1.23M". */
export function fmtCount(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return "–";
  const units: [number, string][] = [[1e9, "B"], [1e6, "M"], [1e3, "k"]];
  for (const [size, unit] of units) if (n >= size) return `${Number((n / size).toPrecision(3))}${unit}`;
  return String(Math.round(n));
}
