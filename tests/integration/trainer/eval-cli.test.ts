import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerEval } from "../../../src/cli/commands/eval.js";
import { registerTrain } from "../../../src/cli/commands/train.js";
import { cliRunner } from "../../helpers/cli.js";
import { fixture } from "./fixtures.js";

let f: Awaited<ReturnType<typeof fixture>>;

beforeAll(async () => {
  f = await fixture();
});
afterAll(() => f.done());

const cli = cliRunner(registerTrain, registerEval);
const SETTINGS = ["--batch-size", "2", "--max-seq-len", "64", "--engine", "onnx"];

describe("tunegraph train --eval-data / tunegraph eval", () => {
  it("train evaluates as it goes; eval on the final adapter prints the same eval_loss", async () => {
    const outDir = path.join(f.root, "run");
    const r = await cli(["train", "--model", f.modelDir, "--data", f.dataPath, "--eval-data", f.dataPath, "--out", outDir,
      "--max-steps", "3", "--eval-steps", "2", "--logging-steps", "1", "--lr", "0.03", ...SETTINGS, "--json"]);
    expect(r.code).toBeNull();
    const events = r.out.trim().split("\n").map((l) => JSON.parse(l) as { type: string; step?: number; evalLoss?: number });
    expect(events.filter((e) => e.type === "eval").map((e) => e.step)).toEqual([2, 3]);
    const summary = events.at(-1)!;
    expect(summary).toMatchObject({ type: "summary", status: "completed", evalLoss: events.filter((e) => e.type === "eval").at(-1)!.evalLoss });

    const scored = await cli(["eval", "--model", f.modelDir, "--adapter", path.join(outDir, "adapter"), "--data", f.dataPath, ...SETTINGS, "--json"]);
    expect(scored.code).toBeNull();
    const json = JSON.parse(scored.out) as Record<string, number>;
    expect(Object.keys(json)).toEqual(expect.arrayContaining(["eval_loss", "eval_tokens", "perplexity"]));
    expect(Math.abs(json.eval_loss - summary.evalLoss!) / summary.evalLoss!).toBeLessThan(1e-6);
    expect(json.perplexity).toBeCloseTo(Math.exp(json.eval_loss), 6);

    // the base model alone scores differently (the adapter moved it), in one plain line without --json
    const base = await cli(["eval", "--model", f.modelDir, "--data", f.dataPath, ...SETTINGS]);
    expect(base.out).toMatch(/^eval_loss \d+\.\d{4} \(perplexity [\d.]+\) over \d+ tokens of 4 conversations; [\d.]+ s on onnx\/ort-cpu\n$/);
    expect(Number(base.out.split(" ")[1])).not.toBeCloseTo(json.eval_loss, 4);
  });

  it("bad input: one line naming the file or flag, exit code 1", async () => {
    const empty = path.join(f.root, "empty.jsonl");
    await writeFile(empty, "");
    const e1 = await cli(["eval", "--model", f.modelDir, "--data", empty, ...SETTINGS]);
    expect(e1.code).toBe(1);
    expect(e1.err).toBe(`tunegraph: data file ${empty} is empty\n`);
    const e2 = await cli(["eval", "--model", f.modelDir, "--adapter", path.join(f.root, "nope"), "--data", f.dataPath, ...SETTINGS]);
    expect(e2.code).toBe(1);
    expect(e2.err).toMatch(/^tunegraph: .*nope.*\n$/);
    const e3 = await cli(["train", "--model", f.modelDir, "--data", f.dataPath, "--out", path.join(f.root, "x"), "--eval-split", "0.7"]);
    expect(e3.code).toBe(1);
    expect(e3.err).toBe("tunegraph: --eval-split must be a number in [0, 0.5], got 0.7\n");
  });
});
