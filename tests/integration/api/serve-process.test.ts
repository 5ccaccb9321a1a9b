import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtCli } from "../../helpers/cli.js";

// `tunegraph serve` as a real process on its embedded PostgreSQL (no DATABASE_URL): what a signal and kill -9 do
interface Serve {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

let cli: string;
let dataDir: string;

const serve = async (): Promise<Serve> => {
  const env = { ...process.env, DATABASE_URL: "", TUNEGRAPH_API_KEY: "" };
  const child = spawn(process.execPath, [cli, "serve", "--port", "0", "--data-dir", dataDir], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const end = Date.now() + 120_000;
  while (!out.includes("GraphQL API at")) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`serve did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, out: () => out, exited };
};

const postmasterPid = async (): Promise<number | null> => {
  const file = path.join(dataDir, "postgres", "postmaster.pid");
  return existsSync(file) ? Number((await readFile(file, "utf8")).split("\n")[0]) : null;
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};
/** pg_ctl returns once postmaster.pid is gone, a moment before the process itself ends. */
const gone = async (pid: number): Promise<boolean> => {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
};
/** pino's JSON lines at error level (50) or above, and anything that is not JSON but the start-up line. */
const complaints = (out: string) =>
  out.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("tunegraph: GraphQL API at") && !(l.startsWith("{") && JSON.parse(l).level < 50));

beforeAll(async () => {
  cli = builtCli();
  dataDir = await mkdtemp(path.join(os.tmpdir(), "tg-serve-"));
});
afterAll(async () => {
  const pid = await postmasterPid();
  if (pid !== null && alive(pid)) process.kill(pid, "SIGINT");
  await rm(dataDir, { recursive: true, force: true });
});

describe("tunegraph serve as a process", () => {
  it("SIGTERM: logs 'shutting down', stops in order, logs no error, stops its PostgreSQL and exits 0", async () => {
    const s = await serve();
    // one start-up line: the API (and its IDE for browsers) and the dashboard
    expect(s.out()).toMatch(/tunegraph: GraphQL API at http:\/\/127\.0\.0\.1:(\d+)\/graphql .*GraphQL IDE.* · dashboard and playground at http:\/\/127\.0\.0\.1:\1\/\n/);
    const pid = (await postmasterPid())!;
    expect(alive(pid)).toBe(true);
    s.child.kill("SIGTERM");
    expect(await s.exited).toBe(0);
    expect(s.out()).toMatch(/"msg":"shutting down"[^\n]*\n[\s\S]*"msg":"stopped"/);
    expect(complaints(s.out())).toEqual([]);
    expect(await gone(pid)).toBe(true);
  }, 180_000);

  it("after kill -9, the next start takes over the PostgreSQL left running and stops it when it stops", async () => {
    const first = await serve();
    const orphan = (await postmasterPid())!;
    first.child.kill("SIGKILL");
    await first.exited;
    expect(alive(orphan)).toBe(true); // the database outlives the process that was killed

    const second = await serve();
    expect(await postmasterPid()).toBe(orphan); // reused, not a second server on the same directory
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(complaints(second.out())).toEqual([]);
    expect(await gone(orphan)).toBe(true);
    expect(await postmasterPid()).toBeNull();
  }, 240_000);
});
