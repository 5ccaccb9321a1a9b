/** bench/RESULTS.md: the headline figures with their spread, the machine beside them, then every figure per area. */
import type { Summary } from "./stats.js";
import type { Headline } from "./headlines.js";
import { machineLine, type Machine } from "./machine.js";

export interface HeadlineFigure {
  section: Headline["section"];
  measure: string;
  unit: string;
  /** Absent when no round produced it. */
  summary?: Summary;
}

export interface BenchReport {
  date: string;
  mode: "full" | "quick";
  /** The `--only` selection, empty for everything. */
  only: string[];
  rounds: number;
  machine: Machine;
  /** Area scripts that ran, and those that could not (with the reason). */
  ran: string[];
  notRun: { script: string; reason: string }[];
  failures: { script: string; round: number; message: string }[];
  headlines: HeadlineFigure[];
  /** Every number each script reported, summarized over the rounds. */
  figures: Record<string, Record<string, Summary>>;
}

/** Integers as they are; others to about three significant digits, no exponent for the sizes seen here. */
export function fmt(x: number): string {
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return a === 0 ? "0" : x.toPrecision(3);
}

function cells(s: Summary | undefined): string[] {
  if (!s) return ["not measured", "", ""];
  return [fmt(s.median), s.n > 1 ? `${fmt(s.min)} – ${fmt(s.max)} (${(s.spread * 100).toFixed(0)} %)` : "one run", String(s.n)];
}

function table(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, "\\|");
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`)].join("\n");
}

export function renderMarkdown(r: BenchReport): string {
  const out: string[] = [];
  out.push("# Benchmark results", "");
  const flags = [...(r.mode === "quick" ? ["--quick"] : []), ...(r.only.length ? ["--only", r.only.join(",")] : [])];
  out.push(`Produced by \`npm run bench${flags.length ? ` -- ${flags.join(" ")}` : ""}\` on ${r.date}: ${r.rounds} round(s), each running every selected area once after its own warm-up; the median over the rounds, and the spread (min – max, and (max − min) / median). Ratios are formed inside a round, then summarized.`, "");
  if (r.mode === "quick") out.push("**Quick mode**: small models, so that the code runs in minutes; the figures say nothing about phi-2.", "");
  out.push(`**Machine**: ${machineLine(r.machine)}; load average at start ${r.machine.loadAverage.map((x) => x.toFixed(1)).join(" ")}.`, "");
  if (r.notRun.length) out.push("**Not run**: " + r.notRun.map((n) => `${n.script} (${n.reason})`).join("; ") + ".", "");
  if (r.failures.length) out.push("**Failed**: " + r.failures.map((f) => `${f.script}, round ${f.round}: ${f.message}`).join("; ") + ".", "");
  out.push("## Headline figures", "");
  out.push(table(["area", "measure", "unit", "median", "spread", "runs"], r.headlines.map((h) => [h.section, h.measure, h.unit, ...cells(h.summary)])), "");
  out.push("## Every figure, per script", "");
  for (const [script, figures] of Object.entries(r.figures)) {
    out.push(`### ${script}`, "");
    out.push(table(["figure", "median", "spread", "runs"], Object.entries(figures).map(([k, s]) => [`\`${k}\``, ...cells(s)])), "");
  }
  return `${out.join("\n")}\n`;
}
