/**
 * `npm run bench [-- --quick] [--only decode,train,...] [--rounds N] [--timeout MIN]`: every area's benchmark in one
 * go, side by side.
 * Each round runs the selected area scripts (bench/forward, train, generate, api: each a child process, so that each
 * has its own memory and peak RSS) and bench/limits (this machine's read bandwidth and matMul peaks), so that every
 * ratio against a limit or a peer is formed within one round. Rounds are then summarized (median and spread).
 * Writes bench/results/<date>[-quick][-<areas>].json; a full run also writes bench/RESULTS.md.
 * The models the scripts build (phi-2 sizes in full mode) live under $TUNEGRAPH_DATA_DIR/bench (default .data/bench).
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { flatten, summarizeRuns } from "./lib/flatten.js";
import { HEADLINES, type AreaScript, type Round } from "./lib/headlines.js";
import { describeMachine, machineLine } from "./lib/machine.js";
import { fmt, renderMarkdown, type BenchReport } from "./lib/markdown.js";
import { needsLimits, parseOptions, scriptsFor, selectedAreas, USAGE, type Options } from "./lib/options.js";
import { printTable, resultsDir } from "./lib/report.js";
import { readResults, runScript, scriptPath, type ChildResult } from "./lib/run-script.js";
import { summarize } from "./lib/stats.js";
import { isUserError } from "../src/model/errors.js";

const dataDir = path.resolve(process.env.TUNEGRAPH_DATA_DIR ?? ".data", "bench");

/**
 * Extra arguments per script. generate builds its models (base, merged, exports) in one directory under the data
 * directory, shared by its int4, int4 block-128 and fp32 runs, and in full mode keeps it there for the next run.
 */
function scriptArgs(script: AreaScript | "limits", opts: Options, variant?: GenerateVariant): string[] {
  const args = opts.quick ? ["--quick"] : [];
  if (script === "limits") args.push("--json");
  if (script === "generate") {
    args.push("--work", path.join(dataDir, `generate-${opts.quick ? "quick" : "phi-2"}`));
    if (!opts.quick) args.push("--keep");
    if (variant === "fp32") args.push("--precision", "fp32");
    if (variant === "int4-b32") args.push("--block-size", "32");
  }
  return args;
}

interface Collected {
  rounds: Round[];
  /** Each child's own JSON, per script label ("generate", "generate-fp32", "generate-int4-b32", "limits"), one entry per round. */
  perScript: Map<string, unknown[]>;
  failures: BenchReport["failures"];
}

/** bench/generate.ts again on other exports of the same model: fp32 (decode ratio), int4 with block 32 (concurrency). */
type GenerateVariant = "fp32" | "int4-b32";

async function runRounds(opts: Options, scripts: AreaScript[], withLimits: boolean, variants: GenerateVariant[]): Promise<Collected> {
  const collected: Collected = { rounds: [], perScript: new Map(), failures: [] };
  const keep = (label: string, value: unknown, child: ChildResult) => {
    const list = collected.perScript.get(label) ?? [];
    list.push({ ...(value as object), benchChild: { seconds: child.seconds, peakRssBytes: child.peakRssBytes } });
    collected.perScript.set(label, list);
  };
  const jobs: { label: string; script: AreaScript | "limits"; variant?: GenerateVariant }[] = [
    ...(withLimits ? [{ label: "limits", script: "limits" as const }] : []),
    // the variants right after int4, so that the two sides of their ratios run under the same conditions
    ...scripts.flatMap((s) => [{ label: s, script: s }, ...(s === "generate" ? variants.map((variant) => ({ label: `generate-${variant}`, script: s, variant })) : [])]),
  ];
  for (let round = 1; round <= opts.rounds; round++) {
    const r: Round = { areas: {} };
    for (const job of jobs) {
      process.stdout.write(`\n=== round ${round}/${opts.rounds}: ${job.label}\n`);
      const since = Date.now();
      const child = await runScript(job.script, scriptArgs(job.script, opts, job.variant), opts.timeoutMinutes * 60, dataDir);
      try {
        if (child.timedOut) {
          const last = child.stdout.trim().split("\n").at(-1)?.slice(0, 60);
          throw new Error(`stopped after ${opts.timeoutMinutes} min (--timeout)${last ? `; its last output: ${last}` : ""}`);
        }
        if (child.code !== 0) throw new Error(`exit code ${child.code}`);
        const value = await readResults(job.script, child.stdout, since);
        keep(job.label, value, child);
        if (job.label === "limits") r.limits = value as Round["limits"];
        else if (job.variant === "fp32") r.generateFp32 = value;
        else if (job.variant === "int4-b32") r.generateB32 = value;
        else r.areas[job.script as AreaScript] = value;
      } catch (err) {
        collected.failures.push({ script: job.label, round, message: (err as Error).message });
        process.stderr.write(`bench: ${job.label} failed in round ${round}: ${(err as Error).message}\n`);
      }
    }
    collected.rounds.push(r);
  }
  return collected;
}

function outputName(opts: Options, date: string): string {
  return [date, ...(opts.quick ? ["quick"] : []), ...(opts.only.length ? [opts.only.join("+")] : [])].join("-");
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const areas = selectedAreas(opts);
  const wanted = scriptsFor(areas);
  const notRun: BenchReport["notRun"] = [];
  const scripts = wanted.filter((s) => {
    if (existsSync(scriptPath(s))) return true;
    notRun.push({ script: `bench/${s}.ts`, reason: "not written yet (no compiled script)" });
    return false;
  });
  const variants: GenerateVariant[] = !scripts.includes("generate") ? [] : [
    ...(areas.includes("decode") ? ["fp32" as const] : []),
    ...(areas.includes("concurrency") ? ["int4-b32" as const] : []),
  ];
  const withLimits = needsLimits(areas);

  await mkdir(dataDir, { recursive: true });
  const machine = describeMachine();
  process.stdout.write(`bench (${opts.quick ? "quick" : "full"}, ${opts.rounds} round(s)): ${areas.join(", ")}\nmachine: ${machineLine(machine)}\n`);
  const collected = await runRounds(opts, scripts, withLimits, variants);

  const headlines = HEADLINES.filter((h) => h.section === "limits" ? withLimits : (areas as string[]).includes(h.section)).map((h) => {
    const samples = collected.rounds.map(h.value).filter((v): v is number => v !== undefined);
    return { section: h.section, measure: h.measure, unit: h.unit, summary: samples.length ? summarize(samples) : undefined };
  });
  const figures = Object.fromEntries([...collected.perScript].map(([label, runs]) => [label, summarizeRuns(runs.map((v) => flatten(v)))]));
  const date = new Date().toISOString();
  const report: BenchReport = {
    date,
    mode: opts.quick ? "quick" : "full",
    only: opts.only,
    rounds: opts.rounds,
    machine,
    ran: [...collected.perScript.keys()],
    notRun,
    failures: collected.failures,
    headlines,
    figures,
  };

  printTable(`Headline figures (median of ${opts.rounds} round(s))`, ["area", "measure", "unit", "median", "min", "max"],
    headlines.map((h) => [h.section, h.measure, h.unit, h.summary ? fmt(h.summary.median) : "not measured", h.summary ? fmt(h.summary.min) : "", h.summary ? fmt(h.summary.max) : ""]));
  for (const n of notRun) process.stdout.write(`not run: ${n.script}: ${n.reason}\n`);

  const dir = resultsDir();
  await mkdir(dir, { recursive: true });
  const jsonFile = path.join(dir, `${outputName(opts, date.slice(0, 10))}.json`);
  await writeFile(jsonFile, `${JSON.stringify({ ...report, raw: Object.fromEntries(collected.perScript) }, null, 2)}\n`);
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), jsonFile)}\n`);
  if (!opts.quick) {
    const md = path.resolve(dir, "..", "RESULTS.md");
    await writeFile(md, renderMarkdown(report));
    process.stdout.write(`wrote ${path.relative(process.cwd(), md)}\n`);
  }
  if (collected.failures.length) process.exit(1);
}

try {
  await main();
} catch (err) {
  if (!isUserError(err)) throw err;
  process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
  process.exit(1);
}
