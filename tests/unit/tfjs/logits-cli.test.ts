import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerLogits } from "../../../src/cli/commands/logits.js";
import { presetConfig } from "../../../src/model/config.js";
import { writeCheckpoint } from "../../../src/model/checkpoint.js";
import { cliRunner } from "../../helpers/cli.js";
import { referenceLogits, relativeError } from "../../helpers/phi-reference.js";
import { loaderOf, randomWeights } from "./reference.js";

const config = presetConfig("tiny", { vocab_size: 120, hidden_size: 32, intermediate_size: 40, num_hidden_layers: 2, num_attention_heads: 2 });
const weights = randomWeights(config, 21);
let dir = "";

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "tg-"));
  await writeCheckpoint(dir, config, loaderOf(weights), { dtype: "F32" });
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const run = cliRunner(registerLogits);
const cli = (args: string[]) => run(["logits", ...args]);

describe("tunegraph logits", () => {
  it("prints the logits of every position as JSON, matching the reference forward", async () => {
    const ids = [15, 99, 3, 64];
    const { out, code } = await cli(["--model", dir, "--ids", ids.join(","), "--json"]);
    expect(code).toBeNull();
    const { logits } = JSON.parse(out) as { logits: number[][] };
    expect(logits.length).toBe(4);
    expect(logits[0].length).toBe(120);
    const ref = referenceLogits(config, weights, ids).flatMap((r) => Array.from(r));
    expect(relativeError(logits.flat(), ref)).toBeLessThan(1e-4);
  });

  it("runs with --quant nf4 and prints a summary without --json", async () => {
    const { out, code } = await cli(["--model", dir, "--ids", "1,2,3", "--quant", "nf4"]);
    expect(code).toBeNull();
    expect(out).toMatch(/^logits: 3 positions x 120 \(engine \w+, quant nf4\)/);
    expect(out.split("\n").filter((l) => /^ {2}\d id \d+: top /.test(l)).length).toBe(3);
  });

  it("rejects bad ids with one line naming the flag or the id", async () => {
    const bad = await cli(["--model", dir, "--ids", "1,x,3", "--json"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe('tunegraph: --ids: "x" (item 2) is not a token id: expected comma-separated non-negative integers\n');
    const range = await cli(["--model", dir, "--ids", "1,120", "--json"]);
    expect(range.code).toBe(1);
    expect(range.err).toBe("tunegraph: input_ids[0][1] = 120: expected an integer in [0, 120)\n");
  });
});
