import { spawn } from "node:child_process";
import { writeFile as writeFileAsync, mkdir, rm, symlink } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerInitModel } from "../../../src/cli/commands/init-model.js";
import { registerServe } from "../../../src/cli/commands/serve.js";
import { registerTrain } from "../../../src/cli/commands/train.js";
import { registerWorker } from "../../../src/cli/commands/worker.js";
import { builtCli, cliRunner } from "../../helpers/cli.js";
import { fixture } from "./fixtures.js";

// Issue 11, item 12: each of these printed a stack trace (or hung); now one line `tunegraph: ...` and exit 1.
const cli = cliRunner(registerServe, registerWorker, registerInitModel, registerTrain);
let f: Awaited<ReturnType<typeof fixture>>;
beforeAll(async () => {
  f = await fixture();
});
afterAll(() => f?.done());

/** Exit 1 and the error as one last line (train's progress lines may come before it). */
const oneLine = (r: { err: string; code: number | null }, message: RegExp, progress = false) => {
  expect(r.code).toBe(1);
  expect(r.err).toMatch(progress ? /(^|\n)tunegraph: [^\n]*\n$/ : /^tunegraph: [^\n]*\n$/);
  expect(r.err.split("\n").at(-2)).toMatch(message);
  expect(r.err).not.toMatch(/\n\s+at /);
};
const train = (out: string, ...more: string[]) =>
  ["train", "--model", f.modelDir, "--data", f.dataPath, "--out", out, "--batch-size", "2", "--max-seq-len", "64", "--logging-steps", "1", ...more];

describe("CLI user mistakes: one line, exit 1", () => {
  it("serve --port out of range, worker --concurrency 0", async () => {
    oneLine(await cli(["serve", "--port", "99999"]), /--port must be an integer from 0 to 65535, got "99999"/);
    oneLine(await cli(["serve", "--port", "-1"]), /--port must be an integer from 0 to 65535, got "-1"/);
    oneLine(await cli(["worker", "--concurrency", "0"]), /--concurrency must be an integer from 1 to 1024, got "0"/);
  });

  it("serve --data-dir <a file>, and a DATABASE_URL nothing answers on", async () => {
    const file = path.join(f.root, "a-file");
    await writeFileAsync(file, "x");
    oneLine(await cli(["serve", "--data-dir", file, "--port", "0"]), /data directory: .*a-file: exists and is not a directory \(EEXIST on mkdir\)/);
    vi.stubEnv("DATABASE_URL", "postgresql://postgres:secret@127.0.0.1:1/none");
    try {
      const r = await cli(["serve", "--data-dir", path.join(f.root, "data"), "--port", "0", "--no-demo"]);
      oneLine(r, /DATABASE_URL: cannot use the database at 127\.0\.0\.1:1\/none: .*ECONNREFUSED/);
      expect(r.err).not.toMatch(/secret/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("init-model --config with a size past the bounds writes nothing", async () => {
    const out = path.join(f.root, "big");
    oneLine(await cli(["init-model", "--preset", "tiny", "--config", '{"hidden_size":2147483648}', "--out", out]), /hidden_size must be an integer from 1 to 65536, got 2147483648/);
    expect(await import("node:fs").then((fs) => fs.existsSync(out))).toBe(false);
  });

  // Tests run as root, whom chmod does not stop: these are directories that root cannot make either.
  it("train --out where no directory can be made: /proc (hung for ever in Node's recursive mkdir) and /sys", async () => {
    oneLine(await cli(train("/proc/tg-run", "--max-steps", "1")), /\/proc\/tg-run: no such file or directory \(ENOENT on mkdir\)/);
    oneLine(await cli(train("/sys/tg-run", "--max-steps", "1")), /\/sys\/tg-run: (operation not permitted|permission denied) \((EPERM|EACCES) on mkdir\)/);
  });

  it("train --out on a full disk: a checkpoint written to /dev/full", async () => {
    // a run saved checkpoint-1; its checkpoint-2 is a directory whose adapter file is /dev/full (ENOSPC on write)
    const out = path.join(f.root, "full");
    expect((await cli(train(out, "--max-steps", "1", "--save-steps", "1", "--json"))).code).toBeNull();
    await rm(path.join(out, "adapter"), { recursive: true });
    await mkdir(path.join(out, "checkpoint-2"));
    await symlink("/dev/full", path.join(out, "checkpoint-2", "adapter_model.safetensors"));
    const r = await cli(train(out, "--max-steps", "2", "--save-steps", "1", "--json", "--resume", path.join(out, "checkpoint-1")));
    oneLine(r, /checkpoint-2\/adapter_model\.safetensors: no space left on the device \(ENOSPC on write\)/, true);
  });
});

describe("tunegraph train as a process", () => {
  it("stops after the current step on SIGTERM, keeping its last checkpoint, and exits 143", async () => {
    const child = spawn(process.execPath, [builtCli(), ...train(path.join(f.root, "long"), "--max-steps", "100000", "--save-steps", "1", "--json")],
      { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stdout.on("data", (d) => {
      out += d;
      if (out.includes('"type":"checkpoint"')) resolve();
    }));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code).toBe(143);
    expect(err).toMatch(/SIGTERM: stopping after this step/);
    expect(out).toMatch(/"type":"summary","status":"cancelled"/);
  });
});
