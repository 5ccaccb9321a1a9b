import { mkdtemp, rm, chmod } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createScratchDatabase, type ScratchDatabase } from "../../../src/db/scratch.js";
import { startEmbeddedPostgres } from "../../../src/db/embedded.js";

export type TestDatabase = ScratchDatabase;

/**
 * A fresh, empty database for one test file: on the server of DATABASE_URL when set (CI), else on an embedded
 * PostgreSQL started in a temporary directory.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (process.env.DATABASE_URL) return createScratchDatabase(process.env.DATABASE_URL, "tg_test");
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
