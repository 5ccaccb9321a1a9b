import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportModel } from "../../../src/backends/onnx/export/export.js";
import { registerExport } from "../../../src/cli/commands/export.js";
import { registerGenerate } from "../../../src/cli/commands/generate.js";
import { presetConfig } from "../../../src/model/config.js";
import { initModel } from "../../../src/model/init.js";
import { mergeAdapter } from "../../../src/model/merge.js";
import { cliRunner } from "../../helpers/cli.js";
import { randomAdapter } from "../../helpers/random-adapter.js";

const config = presetConfig("tiny", { initializer_range: 0.15 });
let root: string;
const dir = (...p: string[]) => path.join(root, ...p);
const cli = cliRunner(registerExport, registerGenerate);

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "tg-cli-adapter-"));
  await initModel({ config, out: dir("base"), seed: 5, dtype: "F32" });
  await randomAdapter(dir("adapter"), config, { r: 8, alpha: 16, targets: ["q_proj", "v_proj"], seed: 6 });
  await mergeAdapter(dir("base"), dir("adapter"), dir("merged"));
  await exportModel(dir("merged"), dir("merged-export"), { precision: "fp32" });
}, 120_000);
afterAll(async () => root && rm(root, { recursive: true, force: true }));

describe("tunegraph export --lora-targets, generate --adapter", () => {
  it("serves an adapter unmerged with the merged model's greedy text", async () => {
    const exported = await cli(["export", "--model", dir("base"), "--out", dir("ready"), "--lora-targets", "q_proj,v_proj", "--lora-max-rank", "16"]);
    expect(exported.code).toBeNull();
    expect(exported.out).toMatch(/adapter-ready \(q_proj, v_proj; rank <= 16\)/);
    const gen = (...args: string[]) => cli(["generate", "--prompt", "Hello there", "--max-new-tokens", "8", "--json", "--threads", "1", ...args]);
    const served = JSON.parse((await gen("--model", dir("ready"), "--adapter", dir("adapter"))).out);
    const merged = JSON.parse((await gen("--model", dir("merged-export"))).out);
    const base = JSON.parse((await gen("--model", dir("ready"))).out);
    expect(served.tokens).toEqual(merged.tokens);
    expect(served.tokens).not.toEqual(base.tokens);
  });

  it("refuses bad flags and adapters in one line", async () => {
    const bad = await cli(["export", "--model", dir("base"), "--out", dir("x"), "--lora-targets", "q_proj,lm_head"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^tunegraph: --lora-targets must name one or more of q_proj, k_proj, v_proj, dense, fc1, fc2, got \["q_proj","lm_head"\]\n$/);
    const plain = await cli(["generate", "--model", dir("merged-export"), "--adapter", dir("adapter"), "--prompt", "x"]);
    expect(plain.code).toBe(1);
    expect(plain.err.trim().split("\n")).toHaveLength(1);
    expect(plain.err).toMatch(/adapter .*adapter: .*merged-export is not an adapter-ready export/);
  });
});
