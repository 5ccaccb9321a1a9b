/** Run a command in a child process and measure its wall time and peak RSS (via rss-preload). */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export interface ChildRun {
  seconds: number;
  peakRssBytes: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `node [--import rss-preload] script ...args`; stdout and stderr are captured. */
export async function runNodeChild(script: string, args: string[], env: Record<string, string> = {}): Promise<ChildRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tg-rss-"));
  const rssFile = path.join(dir, "rss");
  const preload = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), "rss-preload.js")).href;
  try {
    const started = performance.now();
    const r = spawnSync(process.execPath, ["--import", preload, script, ...args], {
      encoding: "utf8",
      env: { ...process.env, ...env, TUNEGRAPH_RSS_FILE: rssFile },
      maxBuffer: 256 * 2 ** 20,
    });
    const seconds = (performance.now() - started) / 1000;
    const peakRssBytes = Number(await readFile(rssFile, "utf8").catch(() => "0"));
    return { seconds, peakRssBytes, status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
