import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { build } from "vite";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CHROMIUM = "/usr/bin/chromium"; // Debian's package; .ci/run installs it
export const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = path.join(repoRoot, "tests", "artifacts");

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}

/** Build the page with the project's vite config (into `outDir`, default dist/web where the server looks). */
export async function buildWeb(outDir?: string): Promise<void> {
  await build({ configFile: path.join(repoRoot, "web", "vite.config.ts"), logLevel: "warn", build: outDir ? { outDir } : {} });
}

/**
 * One module of web/src bundled alone by vite (an IIFE, with its CSS) and loaded into `page` as `window[name]`: its
 * behaviour in a browser, without a server.
 */
export async function loadBundled(page: Page, entry: string, name: string): Promise<void> {
  const out = await mkdtemp(path.join(os.tmpdir(), "tg-bundle-"));
  try {
    await build({
      configFile: false,
      logLevel: "warn",
      build: { outDir: out, emptyOutDir: true, lib: { entry: path.join(repoRoot, entry), name, formats: ["iife"], fileName: () => `${name}.js` } },
    });
    await page.addScriptTag({ path: path.join(out, `${name}.js`) });
    for (const css of (await readdir(out)).filter((f) => f.endsWith(".css"))) await page.addStyleTag({ path: path.join(out, css) });
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** A full-page screenshot kept as a test artefact under tests/artifacts/. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Requests leaving `origin` (a CDN, fonts, ...): the page must work offline. */
export function watchForeignRequests(page: Page, origin: string): string[] {
  const foreign: string[] = [];
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith(origin.replace(/^http/, "ws")) && !url.startsWith("data:")) foreign.push(url);
  });
  return foreign;
}

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/**
 * axe-core's WCAG 2 A/AA checks (labels, names, contrast, landmarks' ids, ARIA) on the page as it stands: each
 * violation as "rule: target (summary)", so a failing test names what to fix.
 */
export async function axeViolations(page: Page, exclude: string[] = []): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async (exclude) => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; nodes: { target: string[]; failureSummary?: string }[] }[] }> } }).axe;
    const result = await axe.run({ exclude: exclude.map((s) => [s]) }, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")} (${(n.failureSummary ?? "").replace(/\s+/g, " ").slice(0, 200)})`));
  }, exclude);
  return violations;
}
