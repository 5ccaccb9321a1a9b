import { copyFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBackends } from "../../src/backends/registry.js";
import { startTestApi, type TestApi } from "../integration/api/harness.js";
import { axeViolations, buildWeb, hasChromium, launch, loadBundled, screenshot, watchForeignRequests } from "./browser.js";

const KEY = "e2e-pages-key-3b7d";
const SMALL = { maxSeqLength: 64, loggingSteps: 1 };

// The playground, run pages, run comparison and GraphQL IDE as a user meets them, against a real API server (demo
// model and dataset, in-process worker, API key on) in headless Chromium, with an axe-core pass on each page.
describe.skipIf(!hasChromium)("web pages: playground, run pages, compare, GraphQL IDE", () => {
  let api: TestApi;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let foreign: string[];
  let modelId: string;
  let datasetId: string;
  const runs: Record<string, string> = {};

  const gql = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const res = await fetch(api.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data: T; errors?: { message: string }[] };
    if (body.errors) throw new Error(body.errors[0]!.message);
    return body.data;
  };
  const start = async (name: string, hyperparameters: Record<string, unknown>, dataset = datasetId) =>
    (await gql<{ startTraining: { id: string } }>(`mutation($input: StartTrainingInput!) { startTraining(input: $input) { id } }`,
      { input: { name, baseModelId: modelId, datasetId: dataset, hyperparameters: { ...SMALL, ...hyperparameters } } })).startTraining.id;
  const statusOf = async (id: string) => (await gql<{ trainingRun: { status: string } }>(`query($id: ID!) { trainingRun(id: $id) { status } }`, { id })).trainingRun.status;
  const sentFrames = (p: Page) => {
    const sent: { type: string; payload?: { variables?: { input?: Record<string, unknown> } } }[] = [];
    p.on("websocket", (ws) => ws.on("framesent", (f) => void (typeof f.payload === "string" && sent.push(JSON.parse(f.payload)))));
    return () => sent.filter((m) => m.type === "subscribe" && m.payload?.variables?.input?.messages).map((m) => m.payload!.variables!.input!);
  };

  beforeAll(async () => {
    await buildWeb();
    // the API key on, as a deployment would have it
    api = await startTestApi({ backends: createBackends(), worker: true, demo: true, env: { TUNEGRAPH_API_KEY: KEY } });
    origin = new URL(api.url).origin;
    const choices = await gql<{ models: { id: string }[]; datasets: { id: string }[] }>("{ models { id } datasets { id } }");
    modelId = choices.models[0]!.id;
    datasetId = choices.datasets[0]!.id;
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
    page = await context.newPage();
    foreign = watchForeignRequests(page, origin);
    await page.goto(`${origin}/#/runs`);
    await page.fill("#api-key input", KEY);
    await page.click("#api-key button");
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  describe("GraphQL IDE", () => {
    it("serves GraphiQL from our bundle on GET /graphql to browsers, and JSON to everyone else", async () => {
      const html = await fetch(api.url, { headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
      expect(html.headers.get("content-type")).toMatch(/text\/html/);
      const text = await html.text();
      expect(text).toContain("GraphQL IDE");
      expect(text).not.toMatch(/apollographql|cdn\./i);
      // curl and clients: a GraphQL answer as before
      const json = await fetch(`${api.url}?query=${encodeURIComponent("{ __typename }")}`, {
        // Apollo's CSRF rule for GETs: clients send a content type or this header
        headers: { authorization: `Bearer ${KEY}`, "apollo-require-preflight": "true" },
      });
      expect(await json.json()).toEqual({ data: { __typename: "Query" } });
      const slash = await fetch(`${api.url}/`, { headers: { accept: "text/html" }, redirect: "manual" });
      expect(slash.status).toBe(301);
    });

    it("runs a query with the dashboard's API key, and a subscription over graphql-ws, offline", async () => {
      await page.goto(`${origin}/#/runs`);
      await page.getByRole("link", { name: "GraphQL IDE" }).click();
      await page.waitForURL(`${origin}/graphql`);
      await page.locator(".graphiql-container").waitFor();
      // the Headers tab carries the key the dashboard holds
      await expect.poll(() => page.locator(".graphiql-editor-tool").textContent(), { timeout: 20_000 }).toContain(`Bearer ${KEY}`);
      await page.click(".graphiql-execute-button");
      const response = page.locator(".result-window");
      await expect.poll(() => response.textContent(), { timeout: 20_000 }).toMatch(/"randomWeights": true/);
      expect(await response.textContent()).toContain("demo-tiny");
      await screenshot(page, "graphql-ide");

      const sub = `subscription { generationStream(input: { modelId: "${modelId}", prompt: "Hello", maxNewTokens: 3, seed: 1 }) { text done } }`;
      await page.goto(`${origin}/graphql?query=${encodeURIComponent(sub)}`);
      await page.locator(".graphiql-container").waitFor();
      await expect.poll(() => page.locator(".graphiql-editor-tool").textContent(), { timeout: 20_000 }).toContain(`Bearer ${KEY}`);
      await page.click(".graphiql-execute-button");
      await expect.poll(() => response.textContent(), { timeout: 120_000 }).toMatch(/"done": true/);
      expect(foreign).toEqual([]);
    });
  });

  describe("playground", () => {
    it("says the demo model has random weights, offers examples, renders a streamed reply, copies it", async () => {
      const frames = sentFrames(page);
      await page.goto(`${origin}/#/playground`);
      await page.locator("select[name=model] option", { hasText: "demo-tiny" }).waitFor({ state: "attached" });
      await expect.poll(() => page.locator("#model-note").textContent()).toMatch(/Random weights.*registerModel/);
      expect(await page.locator(".example").count()).toBe(3);
      await page.fill("input[name=maxNewTokens]", "8");
      await page.click("details.advanced summary");
      await page.fill("input[name=topK]", "5");
      await page.fill("input[name=seed]", "7");
      await page.fill("input[name=repetitionPenalty]", "1.1");
      await page.fill("textarea[name=stop]", "###\n</s>");
      await page.locator(".example").first().click();
      const reply = page.locator(".msg.assistant[data-done=true]");
      await reply.waitFor({ timeout: 120_000 });
      const input = frames().at(-1)!;
      expect(input).toMatchObject({ modelId, maxNewTokens: 8, topK: 5, seed: 7, repetitionPenalty: 1.1, stop: ["###", "</s>"] });
      expect(input.messages).toEqual([{ role: "user", content: "Explain QLoRA in three sentences." }]);

      const last = await gql<{ generations: { text: string }[] }>("{ generations(last: 1) { text } }");
      await reply.getByRole("button", { name: "Copy" }).click();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(last.generations[0]!.text);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, "playground-reply");
    });

    it("regenerates the last reply (same seed, same text) and edits the last message", async () => {
      const frames = sentFrames(page);
      const first = await page.locator(".msg.assistant .text").innerHTML();
      await page.getByRole("button", { name: "Regenerate" }).click();
      await page.locator(".msg.assistant[data-done=true]").waitFor({ timeout: 120_000 });
      expect(await page.locator(".msg.assistant").count()).toBe(1);
      expect(frames().at(-1)!.messages).toEqual([{ role: "user", content: "Explain QLoRA in three sentences." }]);
      expect(await page.locator(".msg.assistant .text").innerHTML()).toBe(first);

      await page.locator(".msg.user").getByRole("button", { name: "Edit" }).click();
      await page.fill(".msg.user textarea", "What is LoRA?");
      await page.getByRole("button", { name: "Save & send" }).click();
      await page.locator(".msg.assistant[data-done=true]").waitFor({ timeout: 120_000 });
      expect(await page.locator(".msg.user .text").allTextContents()).toEqual(["What is LoRA?"]);
      expect(frames().at(-1)!.messages).toEqual([{ role: "user", content: "What is LoRA?" }]);
    });

    it("keeps Enter / Shift+Enter and the composer at the bottom of the window", async () => {
      await page.fill("textarea[name=prompt]", "");
      await page.focus("textarea[name=prompt]");
      await page.keyboard.type("line one");
      await page.keyboard.press("Shift+Enter");
      await page.keyboard.type("line two");
      expect(await page.inputValue("textarea[name=prompt]")).toBe("line one\nline two");
      await page.keyboard.press("Enter");
      await page.locator(".msg.assistant[data-done=true]").nth(1).waitFor({ timeout: 120_000 });
      for (const viewport of [{ width: 1280, height: 900 }, { width: 375, height: 740 }]) {
        await page.setViewportSize(viewport);
        const box = (await page.locator("form.composer").boundingBox())!;
        expect(box.y + box.height).toBeLessThanOrEqual(viewport.height);
        expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
      }
      await screenshot(page, "playground-narrow");
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.getByRole("button", { name: "Clear chat" }).click();
      expect(await page.locator(".example").count()).toBe(3);
      await screenshot(page, "playground-empty");
    });

    it("renders Markdown and strips what a model must not inject", async () => {
      // web/src/markdown.ts as the page bundles it, loaded alone into a blank Chromium page
      const blank = await context.newPage();
      await loadBundled(blank, "web/src/markdown.ts", "md");
      const html = await blank.evaluate(() => (window as unknown as { md: { renderMarkdown(s: string): string } }).md.renderMarkdown(
        "## Steps\n\n1. one\n2. two\n\n```python\nprint('hi')\n```\n\n<img src=x onerror=alert(1)><script>alert(2)</script>[x](javascript:alert(3))",
      ));
      await blank.close();
      expect(html).toContain("<h2>Steps</h2>");
      expect(html).toMatch(/<ol>\s*<li>one<\/li>/);
      expect(html).toContain('<code class="language-python">');
      expect(html).not.toMatch(/onerror|<script|javascript:/);
    });

    it("lists the adapters trained on the base model, sends the chosen one's id, and names it on the reply", async () => {
      const frames = sentFrames(page);
      await page.goto(`${origin}/#/playground`);
      await expect.poll(() => page.locator("#adapter-hint").textContent()).toMatch(/No adapter for this model yet/);
      expect(await page.locator("select[name=adapter] option").allTextContents()).toEqual(["none (base model)"]);

      runs.tiny = await start("tiny", { maxSteps: 2 });
      await expect.poll(() => statusOf(runs.tiny!), { timeout: 240_000, interval: 500 }).toBe("SUCCEEDED");
      const { adapter } = (await gql<{ trainingRun: { adapter: { id: string; name: string } } }>(
        `query($id: ID!) { trainingRun(id: $id) { adapter { id name } } }`, { id: runs.tiny })).trainingRun;
      await page.reload();
      const option = page.locator("select[name=adapter] option", { hasText: adapter.name });
      await option.waitFor({ state: "attached" });
      expect(await option.textContent()).toBe(`tiny · step 2 · ${adapter.name}`);
      expect(await page.locator("#adapter-hint").textContent()).toBe("served with the base model, unmerged");
      await page.selectOption("select[name=adapter]", adapter.id);
      await page.fill("input[name=maxNewTokens]", "4");
      await page.fill("textarea[name=prompt]", "Hello");
      await page.keyboard.press("Enter");
      const reply = page.locator(".msg.assistant[data-done=true]");
      await reply.waitFor({ timeout: 120_000 });
      expect(frames().at(-1)).toMatchObject({ modelId, adapterId: adapter.id });
      expect(await reply.locator(".who").textContent()).toBe(`Model + adapter ${adapter.name}`);
      const last = await gql<{ generations: { adapter: { id: string } | null }[] }>("{ generations(last: 1) { adapter { id } } }");
      expect(last.generations[0]!.adapter?.id).toBe(adapter.id);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, "playground-adapter");

      // the run page's "chat with it unmerged" link chooses the model and the adapter
      await page.goto(`${origin}/#/playground?model=${modelId}&adapter=${adapter.id}`);
      await expect.poll(() => page.locator("select[name=adapter]").inputValue()).toBe(adapter.id);
    });
  });

  describe("run pages", () => {
    it("shows a running run live: curves, logs, elapsed and ETA, smoothing", async () => {
      runs.live = await start("live", { maxSteps: 400, saveSteps: 100 });
      // queued behind it: the two runs to compare
      runs.a = await start("baseline r8", { maxSteps: 8, saveSteps: 4 });
      runs.b = await start("r4 lr 1e-3", { maxSteps: 8, saveSteps: 4, r: 4, learningRate: 1e-3 });
      await page.goto(`${origin}/#/runs/${runs.live}`);
      await page.waitForFunction(() => Number((document.querySelector(".chart") as HTMLElement | null)?.dataset.points) >= 3 &&
        document.querySelector(".run-head .badge")?.textContent === "RUNNING", null, { timeout: 120_000, polling: 100 });
      // log lines while it runs, not only at the end
      expect(await page.locator(".logs li").count()).toBeGreaterThan(0);
      await expect.poll(() => page.locator("[data-stat=eta]").textContent(), { timeout: 20_000 }).toMatch(/ETA \d+[smhd]/);
      expect(await page.locator("[data-stat=elapsed]").textContent()).toMatch(/elapsed \d+[smhd]/);
      expect(await page.locator("[data-stat=tokens]").textContent()).toMatch(/≈ [\d.]+[kMB]? tokens trained/);
      await page.locator("#smoothing").fill("0.9");
      expect(await page.locator("output[for=smoothing]").textContent()).toBe("0.9");
      expect(await page.locator(".chart-small").count()).toBe(2); // learning rate, tokens/s
      await screenshot(page, "run-live-smoothed");
      await page.getByRole("button", { name: "Cancel" }).click();
      await expect.poll(() => page.locator(".run-head .badge").textContent(), { timeout: 60_000 }).toBe("CANCELLED");
    });

    it("shows a finished run: grouped hyperparameters with HF names, checkpoint paths that wrap at slashes", async () => {
      await expect.poll(() => statusOf(runs.b!), { timeout: 240_000, interval: 1000 }).toBe("SUCCEEDED");
      await page.goto(`${origin}/#/runs/${runs.a}`);
      await page.locator(".run-head .badge", { hasText: "SUCCEEDED" }).waitFor();
      expect(await page.locator(".hyper-group h3").allTextContents()).toEqual(["LoRA", "Optimizer", "Schedule", "Data and batching", "Logging, checkpoints and compute"]);
      const lr = page.locator("[data-group=optimizer] dt", { hasText: "Learning rate" });
      expect(await lr.getAttribute("title")).toMatch(/^learning_rate: peak learning rate/);
      expect(await page.locator("[data-group=lora] dd[data-param=r]").textContent()).toBe("8");
      expect(await page.locator(".checkpoints li").count()).toBe(2);
      expect(await page.locator(".checkpoints code.path wbr").count()).toBeGreaterThan(3);
      expect(await page.locator("[data-stat=eta]").count()).toBe(0);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, "run-succeeded-grouped");
      await page.setViewportSize({ width: 375, height: 740 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
      await screenshot(page, "run-succeeded-narrow");
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    it("compares runs picked in the list: overlaid loss with names, the hyperparameters that differ", async () => {
      await page.goto(`${origin}/#/runs`);
      await page.locator(`tr[data-run="${runs.a}"]`).waitFor();
      const compare = page.getByRole("button", { name: /^Compare/ });
      expect(await compare.isDisabled()).toBe(true);
      await page.check(`tr[data-run="${runs.a}"] input[name=compare]`);
      expect(await compare.isDisabled()).toBe(true); // one is not a comparison
      await page.check(`tr[data-run="${runs.b}"] input[name=compare]`);
      expect(await compare.textContent()).toBe("Compare 2");
      expect(await axeViolations(page)).toEqual([]);
      await compare.click();
      await page.waitForURL(/#\/compare\?ids=/);
      await page.locator(".compare-chart[data-series='2']").waitFor();
      expect(await page.locator(".legend li").allTextContents()).toEqual([
        expect.stringContaining("baseline r8"), expect.stringContaining("r4 lr 1e-3"),
      ]);
      expect(await page.locator(".compare .u-legend").textContent()).toMatch(/baseline r8.*r4 lr 1e-3/);
      expect(await page.locator("table.diff tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-param")))).toEqual(["r", "learningRate"]);
      expect(await page.locator("table.diff tr[data-param=learningRate] td").allTextContents()).toEqual(["0.0002", "0.001"]);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, "compare");
    });

    it("shows a failed run's error and an unknown id's, without empty chart frames", async () => {
      // a dataset whose file turns unreadable after it was registered: the run fails when the worker reads it
      const file = path.join(api.dataDir, "broken.jsonl");
      await copyFile(path.join(api.dataDir, "demo", "oasst-demo.jsonl"), file);
      const ds = await gql<{ registerDataset: { id: string } }>(`mutation($p: String!) { registerDataset(name: "broken", path: $p) { id } }`, { p: file });
      await writeFile(file, "{ not json\n");
      runs.failed = await start("broken data", { maxSteps: 4 }, ds.registerDataset.id);
      await expect.poll(() => statusOf(runs.failed!), { timeout: 120_000, interval: 500 }).toBe("FAILED");
      await page.goto(`${origin}/#/runs/${runs.failed}`);
      await page.locator(".run-head .error").waitFor();
      expect(await page.locator(".curves").isHidden()).toBe(true);
      expect(await page.locator(".chart").isHidden()).toBe(true);
      await screenshot(page, "run-failed");

      await page.goto(`${origin}/#/runs/no-such-run`);
      await page.locator(".run-head .error").waitFor();
      expect(await page.locator(".run-head h1").textContent()).toBe("Run not found");
      expect(await page.getByRole("heading", { name: "Training curves" }).count()).toBe(0);
      expect(await page.getByRole("heading", { name: "Hyperparameters" }).isHidden()).toBe(true);
      await screenshot(page, "run-unknown");
    });

    it("hides Load more when every run is shown, and loads the next page when not", async () => {
      await page.goto(`${origin}/#/runs`);
      await page.locator("tr[data-run]").first().waitFor();
      const more = page.getByRole("button", { name: "Load more" });
      expect(await more.isHidden()).toBe(true);
      const shown = await page.locator("tr[data-run]").count();
      // queued runs cancelled at once: enough rows for a second page
      for (let i = shown; i < 22; i++) {
        const id = await start(`filler ${i}`, { maxSteps: 1 });
        await gql(`mutation($id: ID!) { cancelTraining(id: $id) { id } }`, { id });
      }
      await page.reload();
      await expect.poll(() => page.locator("tr[data-run]").count()).toBe(20);
      expect(await more.isVisible()).toBe(true);
      await more.click();
      await expect.poll(() => page.locator("tr[data-run]").count()).toBe(22);
      expect(await more.isHidden()).toBe(true);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, "runs-compare-pick");
    });

    it("starts a run with an eval dataset from the form; its page draws eval loss and states the last evaluation", async () => {
      await page.goto(`${origin}/#/new`);
      await page.locator("select[name=evalDatasetId] option").nth(1).waitFor({ state: "attached" });
      expect(await page.locator("select[name=evalDatasetId] option").first().textContent()).toBe("none");
      await page.selectOption("select[name=datasetId]", datasetId);
      await page.selectOption("select[name=evalDatasetId]", datasetId);
      await page.fill("input[name=name]", "with eval");
      await page.fill("input[name=maxSteps]", "2");
      await page.fill("input[name=batchSize]", "2");
      await page.locator("details summary", { hasText: "All trainer options" }).click();
      await page.fill("input[name=maxSeqLength]", "64");
      await page.fill("input[name=saveSteps]", "1");
      await page.getByRole("button", { name: "Start training" }).click();
      await page.waitForURL(/#\/runs\/[\w-]+$/);
      await page.locator(".run-head .badge", { hasText: "SUCCEEDED" }).waitFor({ timeout: 120_000 });
      // evaluated after each step (evalSteps: every saveSteps): the chart's second series and the header's figure
      await expect.poll(() => page.locator(".chart-main .u-legend .u-series").allTextContents(), { timeout: 30_000 })
        .toEqual(expect.arrayContaining([expect.stringMatching(/^eval loss/)]));
      expect(await page.locator("[data-stat=eval]").textContent()).toMatch(/eval loss [\d.]+ \(perplexity [\d.]+\) at step 2/);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, "run-with-eval");
    });

    it("passes axe on the new-run form, and asked no other origin for anything", async () => {
      await page.goto(`${origin}/#/new`);
      await page.locator("select[name=baseModelId] option").first().waitFor({ state: "attached" });
      expect(await axeViolations(page)).toEqual([]);
      expect(foreign).toEqual([]);
    });
  });
});
