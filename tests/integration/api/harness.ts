import { mkdtemp, rm, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll } from "vitest";
import WebSocket from "ws";
import { createBackends } from "../../../src/backends/registry.js";
import { startApiServer, type ApiServer } from "../../../src/server/app.js";
import { loadConfig, type AppConfig } from "../../../src/services/config.js";
import type { Backends } from "../../../src/services/context.js";
import { startServices, type RunningServices } from "../../../src/services/start.js";
import { createTestDatabase, type TestDatabase } from "./test-db.js";

/** For tests that neither train nor generate: a call to a backend fails the test. */
export const noBackends: Backends = {
  training: () => Promise.reject(new Error("this test does not train")),
  inference: () => Promise.reject(new Error("this test does not generate")),
  close: async () => {},
};

export interface TestApi {
  url: string;
  wsUrl: string;
  dataDir: string;
  config: AppConfig;
  services: RunningServices;
  server: ApiServer;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResponse<T>>;
  ws(connectionParams?: Record<string, unknown>): Client;
  close(): Promise<void>;
}

export interface GqlResponse<T> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

export interface TestApiOptions {
  env?: Record<string, string>;
  backends: Backends;
  worker?: boolean;
  demo?: boolean;
  db?: TestDatabase;
}

/** A real server (HTTP + WS on a free port) over a fresh database and a temporary data directory. */
export async function startTestApi(opts: TestApiOptions): Promise<TestApi> {
  const db = opts.db ?? (await createTestDatabase());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  await chmod(dataDir, 0o755);
  const config = loadConfig({ TUNEGRAPH_DATA_DIR: dataDir, DATABASE_URL: db.url, TUNEGRAPH_PORT: "0", ...opts.env });
  const log = pino({ level: process.env.TG_TEST_LOG ?? "silent" });
  const services = await startServices(config, opts.backends, { worker: opts.worker ?? false, demo: opts.demo ?? false, log });
  const server = await startApiServer(services.ctx, log);
  const url = server.url;
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    dataDir,
    config,
    services,
    server,
    async gql(query, variables, headers = {}) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as GqlResponse<never>;
      return { ...body, status: res.status };
    },
    ws(connectionParams) {
      return createClient({ url: url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
    },
    async close() {
      await server.close();
      await services.close();
      if (!opts.db) await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Collect a subscription's events until it completes (or errors). */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown>): Promise<{ events: T[]; errors: unknown[] }> {
  return new Promise((resolve) => {
    const events: T[] = [];
    const errors: unknown[] = [];
    client.subscribe<T>(
      { query, variables },
      {
        next: (v) => {
          if (v.errors) errors.push(...v.errors);
          if (v.data) events.push(v.data as T);
        },
        error: (e) => {
          errors.push(e);
          resolve({ events, errors });
        },
        complete: () => resolve({ events, errors }),
      },
    );
  });
}

/** The ids of the demo model and dataset a server with `demo: true` seeded. */
export async function demoIds(api: TestApi): Promise<{ modelId: string; datasetId: string }> {
  const r = await api.gql<{ models: { id: string }[]; datasets: { id: string }[] }>("{ models { id } datasets { id } }");
  return { modelId: r.data!.models[0]!.id, datasetId: r.data!.datasets[0]!.id };
}

/**
 * A describe block's demo server (in-process worker, the demo model and dataset, no API key): started before its
 * tests, closed after them. Read the fields inside the tests (they are set by then).
 */
export function demoServer(): { api: TestApi; modelId: string; datasetId: string } {
  const demo = {} as { api: TestApi; modelId: string; datasetId: string };
  beforeAll(async () => {
    demo.api = await startTestApi({ backends: createBackends(), worker: true, demo: true });
    Object.assign(demo, await demoIds(demo.api));
  });
  afterAll(async () => {
    await demo.api?.close();
  });
  return demo;
}

/** Poll `probe` until it gives a value (not null, undefined or false); fails naming `what` after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
