import { mkdtemp, rm, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "../../../src/db/embedded.js";

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database for one test file: on the server of DATABASE_URL when set (CI), else on an embedded
 * PostgreSQL started in a temporary directory.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `tg_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  if (process.env.DATABASE_URL) {
    const admin = process.env.DATABASE_URL;
    await adminQuery(admin, `CREATE DATABASE "${name}"`);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: () => adminQuery(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  await chmod(dir, 0o755);
  const server = await startEmbeddedPostgres(dir);
  return {
    url: server.url,
    drop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
