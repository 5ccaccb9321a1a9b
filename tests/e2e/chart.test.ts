import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvalMetric, Metric } from "../../web/src/operations.js";
import { hasChromium, launch, loadBundled, screenshot } from "./browser.js";

type ChartModule = { MetricsChart: new () => { el: HTMLElement; add(m: Metric[]): void; addEvals(e: EvalMetric[]): void } };
const at = "2026-01-01T00:00:00.000Z";
const metrics: Metric[] = Array.from({ length: 40 }, (_, i) => ({
  step: i + 1, loss: 3 * Math.exp(-i / 15) + 0.6 + 0.25 * Math.sin(i * 1.7), gradNorm: 1 + 0.3 * Math.cos(i),
  learningRate: 2e-4, epoch: (i + 1) / 40, tokensPerSecond: 900 + 50 * Math.sin(i), at,
}));
const evals: EvalMetric[] = [10, 20, 30, 40].map((step) => ({
  step, evalLoss: 3 * Math.exp(-step / 18) + 0.9, perplexity: Math.exp(3 * Math.exp(-step / 18) + 0.9),
  evalTokens: 4096, evalRuntime: 1.5, evalSamplesPerSecond: 20, epoch: step / 40, at,
}));

// web/src/chart.ts as the page bundles it, in Chromium without a server: the eval-loss series of the run page's chart
describe.skipIf(!hasChromium)("loss chart: eval loss", () => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    page.on("pageerror", (e) => errors.push(e.message));
    await loadBundled(page, "web/src/chart.ts", "chart");
  });

  afterAll(async () => {
    await browser?.close();
  });

  const draw = (withEvals: boolean) => page.evaluate(([metrics, evals, withEvals]) => {
    const { MetricsChart } = (window as unknown as { chart: ChartModule }).chart;
    const chart = new MetricsChart();
    document.body.replaceChildren(chart.el);
    chart.add(metrics);
    if (withEvals) chart.addEvals(evals);
  }, [metrics, evals, withEvals] as const);
  const legend = () => page.locator(".chart-main .u-legend .u-series").allTextContents();

  it("has no eval loss series for a run without evaluations", async () => {
    await draw(false);
    await page.locator(".chart[data-points='40']").waitFor();
    expect((await legend()).join("|")).not.toMatch(/eval loss/);
  });

  it("adds eval loss, its own colour and marker, to the legend and the plot once the run has evaluations", async () => {
    await draw(true);
    await page.locator(".chart[data-eval-points='4']").waitFor();
    expect((await legend()).some((t) => t.startsWith("eval loss"))).toBe(true);
    await page.waitForTimeout(100); // uPlot paints on the next frame
    await screenshot(page, "chart-eval-loss");
    expect(errors).toEqual([]);
  });
});
