/**
 * Every number in a benchmark's JSON as one named figure, so that repetitions can be summarized and tabulated
 * whatever shape each area script gives its results.
 */
import { summarize, type Summary } from "./stats.js";

export type Figures = Record<string, number>;

/** An array element's name: its string fields ("wasm/tiny/nf4"), else its index. */
function elementName(el: unknown, i: number, taken: Set<string>): string {
  if (el && typeof el === "object" && !Array.isArray(el)) {
    const label = Object.values(el).filter((v): v is string => typeof v === "string").join("/");
    if (label && !taken.has(label)) return label;
  }
  return String(i);
}

/** `{a: {b: 1}, rows: [{engine: "wasm", tps: 2}]}` → `{"a.b": 1, "rows[wasm].tps": 2}`; finite numbers only. */
export function flatten(value: unknown, prefix = "", out: Figures = {}): Figures {
  if (typeof value === "number") {
    if (Number.isFinite(value) && prefix) out[prefix] = value;
  } else if (Array.isArray(value)) {
    // a list of plain numbers is a script's own samples, already summarized beside it; the raw JSON keeps them
    if (value.every((el) => typeof el === "number")) return out;
    const taken = new Set<string>();
    value.forEach((el, i) => {
      const name = elementName(el, i, taken);
      taken.add(name);
      flatten(el, `${prefix}[${name}]`, out);
    });
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

/** Each figure's summary over the repetitions that produced it, in first-seen order. */
export function summarizeRuns(runs: readonly Figures[]): Record<string, Summary> {
  const samples = new Map<string, number[]>();
  for (const run of runs) {
    for (const [k, v] of Object.entries(run)) {
      const list = samples.get(k) ?? [];
      list.push(v);
      samples.set(k, list);
    }
  }
  return Object.fromEntries([...samples].map(([k, xs]) => [k, summarize(xs)]));
}
