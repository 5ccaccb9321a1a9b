import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../../src/db/package-root.js";
import { builtCli } from "../../helpers/cli.js";

// No Docker engine runs here: check that what the docker files rely on exists and runs (the built CLI's commands).
const root = packageRoot();
const read = (p: string) => readFileSync(path.join(root, p), "utf8");
const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
const cli = builtCli();

/** `node bin/tunegraph.js <command> [--flags]`: the built CLI knows the command and lists each flag in its help. */
function expectCliCommand(args: string[]): void {
  expect(args.slice(0, 2)).toEqual(["node", "bin/tunegraph.js"]);
  const [command, ...flags] = args.slice(2);
  const help = execFileSync(process.execPath, [cli, command!, "--help"], { encoding: "utf8" });
  expect(help).toMatch(new RegExp(`^Usage: tunegraph ${command} `));
  for (const flag of flags) expect(help, `${command} ${flag}`).toMatch(new RegExp(`^\\s+${flag}\\b`, "m"));
}

function instructions(dockerfile: string): { op: string; args: string }[] {
  return read(dockerfile)
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((l) => /^[A-Z]+\s/.test(l))
    .map((l) => ({ op: l.split(/\s/)[0]!, args: l.slice(l.indexOf(" ") + 1).trim() }));
}

describe.each(["docker/Dockerfile", "docker/Dockerfile.gpu"])("%s", (dockerfile) => {
  const ins = instructions(dockerfile);

  it("copies only files that exist", () => {
    const copies = ins.filter((i) => i.op === "COPY");
    expect(copies.length).toBeGreaterThan(3);
    for (const c of copies) {
      const sources = c.args.split(/\s+/).slice(0, -1);
      for (const s of sources) expect(existsSync(path.join(root, s)), `${dockerfile}: COPY ${s}`).toBe(true);
    }
    // what the build needs is copied before it runs
    const copied = copies.flatMap((c) => c.args.split(/\s+/).slice(0, -1));
    for (const needed of ["package.json", "package-lock.json", "prisma", "src", "bin", "tsconfig.json", "tsconfig.build.json"]) {
      expect(copied).toContain(needed);
    }
  });

  it("runs npm scripts and CLI commands that exist", () => {
    const runs = ins.filter((i) => i.op === "RUN").map((i) => i.args).join(" && ");
    for (const m of runs.matchAll(/npm run ([\w:-]+)/g)) expect(scripts[m[1]!], `npm run ${m[1]}`).toBeDefined();
    expect(runs).toContain("npm ci");
    expect(scripts.postinstall).toBeDefined();
    const cmd = ins.find((i) => i.op === "CMD")!;
    expectCliCommand(JSON.parse(cmd.args) as string[]);
  });
});

describe("docker/compose.yaml", () => {
  const compose = read("docker/compose.yaml");

  it("builds from Dockerfiles that exist, with the repository as context", () => {
    const dockerfiles = [...compose.matchAll(/dockerfile:\s*(\S+)/g)].map((m) => m[1]!);
    expect(dockerfiles.length).toBe(2);
    for (const d of dockerfiles) expect(existsSync(path.join(root, d)), d).toBe(true);
    for (const m of compose.matchAll(/context:\s*(\S+)/g)) expect(path.resolve(root, "docker", m[1]!)).toBe(root);
  });

  it("runs postgres, an API without in-process worker and a worker, on one database", () => {
    const commands = [...compose.matchAll(/command:\s*(\[.*\])/g)].map((m) => JSON.parse(m[1]!) as string[]);
    expect(commands).toEqual([
      ["node", "bin/tunegraph.js", "serve", "--no-worker"],
      ["node", "bin/tunegraph.js", "worker"],
    ]);
    for (const c of commands) expectCliCommand(c);
    expect(compose).toMatch(/^\s+postgres:\n\s+image: postgres:/m);
    const urls = [...compose.matchAll(/DATABASE_URL:\s*(\S+)/g)].map((m) => m[1]);
    expect(new Set(urls).size).toBe(1);
    expect(urls[0]).toMatch(/@postgres:5432\//);
  });
});
