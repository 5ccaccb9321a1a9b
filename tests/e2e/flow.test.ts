import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBackends } from "../../src/backends/registry.js";
import { startTestApi, type TestApi } from "../integration/api/harness.js";
import { buildWeb, hasChromium, launch, screenshot, watchForeignRequests } from "./browser.js";

const KEY = "e2e-key-5f1c";
const badge = (page: Page) => page.locator(".run-head .badge").textContent();

// The page as users get it: built by vite, served by a real API server (demo model and dataset, in-process worker,
// API key on) over a fresh database, driven in headless Chromium from the new-run form to a streamed chat reply.
describe.skipIf(!hasChromium)("web page against a real API server", () => {
  let api: TestApi;
  let origin: string;
  let browser: Browser;
  let page: Page;
  let foreign: string[];
  let runId: string;

  beforeAll(async () => {
    await buildWeb();
    // the API key on, as a deployment would have it
    api = await startTestApi({ backends: createBackends(), worker: true, demo: true, env: { TUNEGRAPH_API_KEY: KEY } });
    origin = new URL(api.url).origin;
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    foreign = watchForeignRequests(page, origin);
  });

  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  it("is served at / and asks for the API key the server wants", async () => {
    await page.goto(`${origin}/#/runs`);
    await expect.poll(() => page.locator("#banner").textContent()).toMatch(/API key/);
    await page.fill("#api-key input", KEY);
    await page.click("#api-key button");
    await page.locator(".runs p.muted", { hasText: "No training runs yet" }).waitFor();
    expect(await page.isHidden("#banner")).toBe(true);
    await screenshot(page, "runs-empty");
  });

  it("starts a run from the form, with the server's own error shown inline first", async () => {
    await page.goto(`${origin}/#/new`);
    await page.locator("select[name=baseModelId] option", { hasText: "demo-tiny" }).waitFor({ state: "attached" });
    await page.fill("input[name=maxSteps]", "10");
    await page.click("details summary");
    await page.fill("input[name=loggingSteps]", "1");
    await page.fill("input[name=saveSteps]", "5");
    // only the server knows the model's context length
    await page.fill("input[name=maxSeqLength]", "4096");
    await page.click("form.new-run button[type=submit]");
    await expect.poll(() => page.textContent("#err-maxSeqLength")).toMatch(/maxSeqLength 4096 is above the model's max_position_embeddings \(512\)/);
    await screenshot(page, "new-run-server-error");

    await page.fill("input[name=maxSeqLength]", "64");
    await page.click("form.new-run button[type=submit]");
    await page.waitForURL(/#\/runs\/[\w-]+$/);
    runId = decodeURIComponent(page.url().split("/").pop()!);
  });

  it("draws the loss curve live from trainingProgress, then offers the adapter", async () => {
    // points while the run is still RUNNING: they came through the subscription, not a reload at the end
    await page.waitForFunction(
      () => Number((document.querySelector(".chart") as HTMLElement | null)?.dataset.points) > 0 &&
        document.querySelector(".run-head .badge")?.textContent === "RUNNING",
      null,
      { timeout: 120_000, polling: 50 },
    );
    await screenshot(page, "run-live");
    await expect.poll(() => badge(page), { timeout: 120_000 }).toBe("SUCCEEDED");
    await page.locator(".merge select[name=precision]").waitFor();
    expect(await page.locator(".chart").getAttribute("data-points")).toBe("10");
    expect(await page.locator(".checkpoints li").count()).toBe(2);
    expect(await page.locator(".logs li").count()).toBeGreaterThan(0);
    expect(await page.textContent("[data-group=data] dd[data-param=maxSeqLength]")).toBe("64");
    await screenshot(page, "run-succeeded");
    await page.setViewportSize({ width: 375, height: 740 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await screenshot(page, "run-narrow");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("merges the adapter (INT4) and shows the job until it is READY", async () => {
    await page.selectOption(".merge select[name=precision]", "INT4");
    await page.click(".merge button");
    await page.locator("[data-merged][data-status=READY]").waitFor({ timeout: 180_000 });
    expect(await page.textContent("[data-merged][data-status=READY]")).toContain("INT4");
    await screenshot(page, "run-merged");
  });

  it("chats with the merged model: streamed replies, history, timings", async () => {
    const sent: string[] = [];
    page.on("websocket", (ws) => ws.on("framesent", (f) => void (typeof f.payload === "string" && sent.push(f.payload))));
    await page.click("[data-merged][data-status=READY] a");
    await page.waitForURL(/#\/playground\?model=/);
    await page.locator("select[name=model] option").first().waitFor({ state: "attached" });
    await page.fill("textarea[name=system]", "You are a helpful assistant.");
    await page.fill("input[name=maxNewTokens]", "12");
    await page.fill("textarea[name=prompt]", "Hello! What is QLoRA?");
    await page.keyboard.press("Enter");
    const first = page.locator(".msg.assistant").nth(0);
    await first.and(page.locator("[data-done=true]")).waitFor({ timeout: 120_000 });
    expect(Number(await first.getAttribute("data-chunks"))).toBeGreaterThan(0);
    expect(await first.locator(".stats").textContent()).toMatch(/time to first token \d+ ms · [\d.e+-]+ tokens\/s · \d+ tokens · (stop|length)/);

    await page.fill("textarea[name=prompt]", "Tell me more.");
    await page.click("form.composer button[type=submit]");
    await page.locator(".msg.assistant[data-done=true]").nth(1).waitFor({ timeout: 120_000 });
    // the second request carried the system message and the whole conversation so far
    const subscribes = sent.map((s) => JSON.parse(s)).filter((m) => m.type === "subscribe" && m.payload.variables?.input?.messages);
    const messages = subscribes.at(-1).payload.variables.input.messages as { role: string; content: string }[];
    expect(messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    // the reply as the model wrote it (the page shows it rendered as Markdown)
    const res = await fetch(api.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ query: "{ generations(last: 2) { text } }" }),
    });
    const replies = ((await res.json()) as { data: { generations: { text: string }[] } }).data.generations;
    expect(messages[2]!.content).toBe(replies[1]!.text); // newest first: [the second reply, the first]
    await screenshot(page, "playground");
  });

  it("stops a reply mid-stream, and the server cancels the generation", async () => {
    await page.fill("input[name=maxNewTokens]", "400");
    await page.fill("textarea[name=prompt]", "Write a long story.");
    await page.keyboard.press("Enter");
    const third = page.locator(".msg.assistant").nth(2);
    await page.waitForFunction(() => Number(document.querySelectorAll(".msg.assistant")[2]?.getAttribute("data-chunks")) >= 2, null, { timeout: 60_000 });
    await page.click("form.composer button.danger");
    expect(await third.locator(".stats").textContent()).toMatch(/^stopped · time to first token \d+ ms/);
    expect(await page.isEnabled("form.composer button[type=submit]")).toBe(true);
    const lastFinish = async () => {
      const res = await fetch(api.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ query: "{ generations(last: 1) { finishReason } }" }),
      });
      return ((await res.json()) as { data: { generations: { finishReason: string }[] } }).data.generations[0]?.finishReason;
    };
    await expect.poll(lastFinish, { timeout: 30_000 }).toBe("cancelled");
  });

  it("cancels a running run and resumes it from its checkpoint", async () => {
    await page.goto(`${origin}/#/new`);
    await page.locator("select[name=baseModelId] option").first().waitFor({ state: "attached" });
    await page.fill("input[name=maxSteps]", "400");
    await page.click("details summary");
    await page.fill("input[name=loggingSteps]", "1");
    await page.fill("input[name=saveSteps]", "2");
    await page.fill("input[name=maxSeqLength]", "64");
    await page.click("form.new-run button[type=submit]");
    await page.waitForURL(/#\/runs\/[\w-]+$/);
    await page.waitForFunction(() => Number((document.querySelector(".chart") as HTMLElement | null)?.dataset.points) >= 3, null, { timeout: 120_000 });
    await page.click(".actions button.danger");
    await expect.poll(() => badge(page), { timeout: 60_000 }).toBe("CANCELLED");
    const pointsAtCancel = Number(await page.locator(".chart").getAttribute("data-points"));
    await page.getByRole("button", { name: "Resume" }).click();
    await page.waitForFunction((n) => Number((document.querySelector(".chart") as HTMLElement).dataset.points) > n, pointsAtCancel, { timeout: 120_000 });
    expect(["QUEUED", "RUNNING"]).toContain(await badge(page));
    await page.click(".actions button.danger");
    await expect.poll(() => badge(page), { timeout: 60_000 }).toBe("CANCELLED");
  });

  it("lists the runs, and never asked another origin for anything", async () => {
    await page.goto(`${origin}/#/runs`);
    const row = page.locator(`tr[data-run="${runId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toMatch(/SUCCEEDED.*demo-tiny.*10 \/ 10/);
    expect(await page.locator("tr[data-run]").count()).toBe(2);
    await screenshot(page, "runs");
    expect(foreign).toEqual([]);
  });
});
