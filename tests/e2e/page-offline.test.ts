import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import express from "express";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountWeb } from "../../src/server/static.js";
import { buildWeb, hasChromium, launch, screenshot, watchForeignRequests } from "./browser.js";

// The page alone (no API behind it): it loads nothing from elsewhere, says clearly that the API is unreachable,
// keeps the API key for the session, and checks the form the way the server does.
describe.skipIf(!hasChromium)("web page without an API", () => {
  let dir: string;
  let server: Server;
  let origin: string;
  let browser: Browser;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    await buildWeb(dir);
    const app = express();
    mountWeb(app, dir);
    server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it("says the API cannot be reached, and loads nothing from another origin", async () => {
    const page = await browser.newPage();
    const foreign = watchForeignRequests(page, origin);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${origin}/#/runs`);
    await page.locator("#banner").waitFor({ state: "visible" });
    expect(await page.locator("#banner").textContent()).toMatch(/API at .*\/graphql answered HTTP 404 without a GraphQL body/);
    await expect.poll(() => page.locator(".runs .error").textContent()).toMatch(/Could not load the runs/);
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);

    // the server gone altogether: the request fails at the network level
    await page.route("**/graphql", (route) => route.abort("connectionrefused"));
    await page.goto(`${origin}/#/new`);
    await expect.poll(() => page.locator("#banner").textContent()).toMatch(/API at .*\/graphql cannot be reached: is `tunegraph serve` running\?/);
    await page.close();
  });

  it("checks the new-run form field by field with the server's rules", async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/#/new`);
    // the reference job's values are filled in
    expect(await page.inputValue("input[name=r]")).toBe("8");
    expect(await page.inputValue("input[name=loraAlpha]")).toBe("16");
    expect(await page.inputValue("input[name=loraDropout]")).toBe("0.1");
    expect(await page.inputValue("input[name=learningRate]")).toBe("0.0002");
    expect(await page.inputValue("input[name=batchSize]")).toBe("4");
    expect(await page.inputValue("select[name=quant]")).toBe("nf4");
    const checked = await page.$$eval("input[name=targetModules]:checked", (els) => els.map((e) => (e as HTMLInputElement).value));
    expect(checked).toEqual(["q_proj", "v_proj"]);

    await page.fill("input[name=r]", "0");
    await page.fill("input[name=loraDropout]", "1");
    await page.uncheck("input[value=q_proj]");
    await page.uncheck("input[value=v_proj]");
    await page.click("form.new-run button[type=submit]");
    expect(await page.textContent("#err-r")).toBe("r must be an integer in [1, 1024], got 0");
    expect(await page.textContent("#err-loraDropout")).toBe("loraDropout must be a number in [0, 1), got 1");
    expect(await page.textContent("#err-targetModules")).toMatch(/targetModules must be a non-empty list/);
    expect(await page.textContent("#err-batchSize")).toBe("");
    await screenshot(page, "new-run-invalid");

    await page.fill("input[name=r]", "4");
    expect(await page.textContent("#err-r")).toBe("");
    await page.close();
  });

  it("keeps the API key in session storage and stays usable on a narrow screen", async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true });
    const page = await context.newPage();
    await page.goto(`${origin}/#/playground`);
    await page.fill("#api-key input", "secret-key");
    await page.click("#api-key button");
    expect(await page.evaluate(() => sessionStorage.getItem("tunegraph.apiKey"))).toBe("secret-key");
    await page.reload();
    expect(await page.inputValue("#api-key input")).toBe("secret-key");
    // nothing wider than the screen: no horizontal scrolling on a phone
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.isVisible("textarea[name=prompt]")).toBe(true);
    await screenshot(page, "playground-narrow-unreachable");
    await context.close();
  });
});
