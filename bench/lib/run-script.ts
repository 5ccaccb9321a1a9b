/** Running one compiled bench script for bench/all.ts: its own process group, a time limit, its results JSON. */
import { spawn } from "node:child_process";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resultsDir } from "./report.js";

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The compiled script `name` beside bench/all.js. */
export const scriptPath = (name: string) => path.join(benchDir, `${name}.js`);

export interface ChildResult {
  code: number | null;
  timedOut: boolean;
  stdout: string;
  peakRssBytes: number;
  seconds: number;
}

/** The process group of the script running now, ended with this process (Ctrl-C included). */
let running: number | undefined;
let handlersInstalled = false;

function endChildOnSignals(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (running) process.kill(-running, "SIGKILL");
      process.exit(130);
    });
  }
}

/**
 * Run a compiled bench script in its own process group (so that a hung one is ended with whatever it started), its
 * output shown as it comes (stdout also kept), with its peak RSS (rss-preload).
 */
export function runScript(name: string, args: string[], timeoutSeconds: number, tmpDir: string): Promise<ChildResult> {
  const rssFile = path.join(tmpDir, `.rss-${process.pid}-${name}`);
  const preload = pathToFileURL(path.join(benchDir, "lib", "rss-preload.js")).href;
  const started = performance.now();
  endChildOnSignals();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", preload, scriptPath(name), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, TUNEGRAPH_RSS_FILE: rssFile },
      detached: true,
    });
    running = child.pid;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, "SIGKILL");
    }, timeoutSeconds * 1000);
    let stdout = "";
    let shown = 0;
    // echo whole lines as they come, except the JSON results line meant for us
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const end = stdout.lastIndexOf("\n") + 1;
      for (const line of stdout.slice(shown, end).split("\n").slice(0, -1)) if (!line.startsWith("{")) process.stdout.write(`${line}\n`);
      shown = end;
    });
    child.on("error", reject);
    child.on("close", async (code) => {
      clearTimeout(timer);
      running = undefined;
      const rest = stdout.slice(shown);
      if (rest && !rest.startsWith("{")) process.stdout.write(`${rest}\n`);
      const peakRssBytes = Number(await readFile(rssFile, "utf8").catch(() => "0"));
      await rm(rssFile, { force: true });
      resolve({ code, timedOut, stdout, peakRssBytes, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/**
 * A script's results: a JSON object on its last stdout line, else the newest bench/results/<script>*.json it wrote
 * (the area scripts write their own file; all.ts reads it rather than asking each to print).
 */
export async function readResults(name: string, stdout: string, since: number, dir = resultsDir()): Promise<unknown> {
  const last = stdout.trim().split("\n").at(-1) ?? "";
  if (last.startsWith("{")) return JSON.parse(last);
  let newest: { file: string; mtime: number } | undefined;
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (!f.startsWith(name) || !f.endsWith(".json")) continue;
    const mtime = (await stat(path.join(dir, f))).mtimeMs;
    if (mtime >= since && (!newest || mtime > newest.mtime)) newest = { file: f, mtime };
  }
  if (!newest) throw new Error(`wrote no bench/results/${name}*.json and printed no JSON`);
  return JSON.parse(await readFile(path.join(dir, newest.file), "utf8"));
}
