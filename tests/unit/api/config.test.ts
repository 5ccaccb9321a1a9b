import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/services/config.js";

describe("configuration from the environment", () => {
  it("defaults to ./.data, an embedded database, no key and the data directory as the only root", () => {
    const c = loadConfig({});
    expect(c.dataDir).toBe(path.resolve(".data"));
    expect(c.databaseUrl).toBeUndefined();
    expect(c.apiKey).toBeUndefined();
    expect(c.roots).toEqual([c.dataDir]);
    expect(c.port).toBe(4000);
    expect(c.limits.maxNewTokens).toBe(1024);
  });

  it("reads every variable", () => {
    const c = loadConfig({
      TUNEGRAPH_DATA_DIR: "/srv/tg",
      DATABASE_URL: "postgresql://x@h/db",
      TUNEGRAPH_API_KEY: "k",
      TUNEGRAPH_ROOTS: ["/models", "/datasets"].join(path.delimiter),
      TUNEGRAPH_PORT: "8080",
      TUNEGRAPH_MAX_NEW_TOKENS: "256",
      TUNEGRAPH_MAX_ACTIVE_RUNS: "3",
    });
    expect(c).toMatchObject({ dataDir: "/srv/tg", databaseUrl: "postgresql://x@h/db", apiKey: "k", roots: ["/models", "/datasets"], port: 8080 });
    expect(c.limits).toMatchObject({ maxNewTokens: 256, maxActiveRuns: 3 });
  });

  it("names the variable that is not a valid number", () => {
    expect(() => loadConfig({ TUNEGRAPH_PORT: "http" })).toThrow('TUNEGRAPH_PORT must be an integer from 0 to 65535, got "http"');
    expect(() => loadConfig({ TUNEGRAPH_PORT: "99999" })).toThrow('TUNEGRAPH_PORT must be an integer from 0 to 65535, got "99999"');
    expect(() => loadConfig({ TUNEGRAPH_MAX_DEPTH: "0" })).toThrow(/TUNEGRAPH_MAX_DEPTH must be an integer >= 1/);
  });
});
