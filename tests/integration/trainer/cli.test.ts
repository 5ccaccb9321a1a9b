import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerLogits } from "../../../src/cli/commands/logits.js";
import { registerTrain } from "../../../src/cli/commands/train.js";
import { mergeAdapter } from "../../../src/model/merge.js";
import { builtCli, cliRunner } from "../../helpers/cli.js";
import { fixture } from "./fixtures.js";

let f: Awaited<ReturnType<typeof fixture>>;

beforeAll(async () => {
  f = await fixture();
});
afterAll(() => f.done());

const cli = cliRunner(registerTrain, registerLogits);

const logits = (out: string) => (JSON.parse(out) as { logits: number[][] }).logits.flat();
function relErr(a: number[], b: number[]): number {
  let d = 0, s = 0;
  a.forEach((x, i) => ((d += (x - b[i]) ** 2), (s += b[i] ** 2)));
  return Math.sqrt(d / s);
}

describe("tunegraph train / logits --adapter", () => {
  it("train --json prints one object per event; logits --adapter equals the merged model", async () => {
    const outDir = path.join(f.root, "run");
    const r = await cli(["train", "--model", f.modelDir, "--data", f.dataPath, "--out", outDir, "--max-steps", "4", "--logging-steps", "2",
      "--save-steps", "2", "--batch-size", "2", "--max-seq-len", "64", "--lr", "0.03", "--targets", "q_proj,v_proj,fc1", "--json"]);
    expect(r.code).toBeNull();
    const events = r.out.trim().split("\n").map((l) => JSON.parse(l) as { type: string; step?: number });
    expect(events.map((e) => `${e.type}${e.step ?? ""}`)).toEqual(["start", "metric2", "checkpoint2", "metric4", "checkpoint4", "summary"]);
    expect(events[1]).toMatchObject({ step: 2, epoch: 1 });
    expect(Object.keys(events[1]).sort()).toEqual(["epoch", "gradNorm", "learningRate", "loss", "step", "tokensPerSecond", "type"]);
    expect(events[5]).toMatchObject({ type: "summary", status: "completed", globalStep: 4, adapterDir: path.join(outDir, "adapter") });

    const ids = ["--ids", "15496,995,11,318,257"];
    const base = await cli(["logits", "--model", f.modelDir, ...ids, "--json"]);
    const withAdapter = await cli(["logits", "--model", f.modelDir, ...ids, "--adapter", path.join(outDir, "adapter"), "--json"]);
    const mergedDir = path.join(f.root, "merged");
    await mergeAdapter(f.modelDir, path.join(outDir, "adapter"), mergedDir);
    const merged = await cli(["logits", "--model", mergedDir, ...ids, "--json"]);
    expect(relErr(logits(withAdapter.out), logits(merged.out))).toBeLessThan(1e-4);
    expect(relErr(logits(base.out), logits(merged.out))).toBeGreaterThan(1e-3);
  });

  it("train with stderr not a terminal: HF Trainer's line per logging step, no bar", async () => {
    const args = ["train", "--model", f.modelDir, "--data", f.dataPath, "--out", path.join(f.root, "plain"), "--max-steps", "4",
      "--logging-steps", "2", "--save-steps", "4", "--batch-size", "2", "--max-seq-len", "64", "--lr", "0.03"];
    const child = spawn(process.execPath, [builtCli(), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    expect(await new Promise((resolve) => child.on("exit", resolve))).toBe(0);
    const lines = err.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^training on \S+ \(cpu\): 4 conversations/);
    const logged = lines.filter((l) => l.startsWith("{"));
    expect(logged).toHaveLength(2);
    for (const [i, l] of logged.entries()) {
      expect(l).toMatch(new RegExp(`^\\{'loss': \\d+\\.\\d{1,4}, 'grad_norm': [\\d.e+-]+, 'learning_rate': 0\\.03, 'epoch': ${i + 1}\\.0\\}$`));
    }
    expect(lines.at(-1)).toBe(`saved ${path.join(f.root, "plain", "checkpoint-4")}`);
    expect(err).not.toMatch(/[\r\x1b]/);
    expect(out).toMatch(/^completed: 4 steps, epoch 2\.00, train_loss \d/);
  });

  it("bad flags: one line, exit code 1", async () => {
    const r = await cli(["train", "--model", f.modelDir, "--data", f.dataPath, "--out", path.join(f.root, "x"), "--dropout", "1"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("tunegraph: --dropout must be a number in [0, 1), got 1\n"); // the flag, not the API field
    const missing = await cli(["logits", "--model", f.modelDir, "--ids", "1,2", "--adapter", path.join(f.root, "nope")]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^tunegraph: .*nope: adapter directory not found\n$/);
  });
});
