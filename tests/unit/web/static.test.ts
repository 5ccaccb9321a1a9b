import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { mountWeb } from "../../../src/server/static.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function serve(dir: string): Promise<string> {
  const app = express();
  mountWeb(app, dir);
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  cleanups.push(() => new Promise((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("mountWeb", () => {
  it("serves the built page at / and its hashed assets with a long cache", async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, "assets"));
    await writeFile(path.join(dir, "index.html"), "<!doctype html><title>tunegraph</title>");
    await writeFile(path.join(dir, "assets", "index-abc.js"), "console.log(1)");
    const base = await serve(dir);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain("<title>tunegraph</title>");
    const asset = await fetch(`${base}/assets/index-abc.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
  });

  it("says how to build the page when it is missing", async () => {
    const base = await serve(path.join(await tempDir(), "nothing"));
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/not built .*run `npm run build`/);
  });
});
