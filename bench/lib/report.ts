/** Shared by the bench scripts: print a table, write the results JSON under bench/results/. */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export type Cell = string | number | null;

/** Print rows as an aligned text table; numbers are shown with `digits` decimals. */
export function printTable(title: string, columns: string[], rows: Cell[][], digits = 2): void {
  const text = rows.map((r) => r.map((c) => (c === null ? "-" : typeof c === "number" ? c.toFixed(digits) : c)));
  const widths = columns.map((h, i) => Math.max(h.length, ...text.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  process.stdout.write(`\n${title}\n${line(columns)}\n${widths.map((w) => "-".repeat(w)).join("  ")}\n`);
  for (const r of text) process.stdout.write(`${line(r)}\n`);
}

/** The repository's bench/results directory (from src or from dist). */
export function resultsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, "../../..") : path.resolve(here, "../..");
  return path.join(root, "bench", "results");
}

/** Write `bench/results/<name>.json` with the machine described next to the results; returns the path. */
export async function writeResults(name: string, results: unknown): Promise<string> {
  const dir = resultsDir();
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const machine = { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "", memoryGb: Math.round(os.totalmem() / 2 ** 30) };
  await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2)}\n`);
  return file;
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
