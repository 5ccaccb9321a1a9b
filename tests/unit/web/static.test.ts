import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { mountIde, mountWeb } from "../../../src/server/static.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function serve(dir: string): Promise<string> {
  const app = express();
  mountIde(app, "/graphql", dir);
  // stands in for the GraphQL route behind it
  app.use("/graphql", (_req, res) => void res.json({ data: { api: true } }));
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

describe("mountIde", () => {
  it("gives browsers the GraphQL IDE on /graphql and everyone else the API", async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, "index.html"), "<!doctype html><title>tunegraph</title>");
    await writeFile(path.join(dir, "graphiql.html"), "<!doctype html><title>tunegraph · GraphQL IDE</title>");
    const base = await serve(dir);
    // what Chromium and Firefox send for a typed-in URL
    const page = await fetch(`${base}/graphql`, { headers: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" } });
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain("GraphQL IDE");
    for (const accept of [undefined, "application/json", "application/graphql-response+json, application/json", "*/*"]) {
      const api = await fetch(`${base}/graphql?query=%7B__typename%7D`, { headers: accept ? { accept } : {} });
      expect(await api.json(), `accept ${accept}`).toEqual({ data: { api: true } });
    }
    const slash = await fetch(`${base}/graphql/`, { headers: { accept: "text/html" }, redirect: "manual" });
    expect(slash.status).toBe(301);
    expect(slash.headers.get("location")).toBe("/graphql");
  });

  it("says how to build the IDE when it is missing", async () => {
    const base = await serve(path.join(await tempDir(), "nothing"));
    const res = await fetch(`${base}/graphql`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/GraphQL IDE is not built .*run `npm run build`/);
  });
});
