import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureLlamaCpp } from "../../../bench/lib/llama-cpp.js";
import { presetConfig } from "../../../src/model/config.js";
import { exportGguf, ggufFileName } from "../../../src/model/gguf/phi2.js";
import { initModel } from "../../../src/model/init.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "tg-peer-"));
  await initModel({ config: presetConfig("tiny"), out: path.join(root, "base"), seed: 5, dtype: "F32" });
  await exportGguf(path.join(root, "base"), path.join(root, "gguf"), "q4_0");
}, 180_000);
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

// small sizes: this checks that the peer runs and reports consistently, not how fast llama.cpp is here
describe("the llama.cpp peer of bench:generate", () => {
  it("runs prefill, one stream and n streams on a GGUF, and says which llama.cpp build ran", async () => {
    const r = await measureLlamaCpp({
      gguf: path.join(root, "gguf", ggufFileName("q4_0")), threads: 2, decodeTokens: 6,
      longPrompt: Array.from({ length: 40 }, (_, i) => 300 + i), shortPrompts: [[7454, 2402], [7454, 2402, 257]],
    });
    expect(r.buildType).toBe("prebuilt");
    expect(r.release).toMatch(/^ggml-org\/llama\.cpp /);
    expect(r.cpuVariant).not.toBe("unknown"); // a libggml-cpu-<variant>.so is mapped into this process
    expect(r.cpuFeatures).toMatch(/CPU : .*AVX/);
    // tiny: 2 layers of 6 Q4_0 matrices (64·64 ×4, 64·256 ×2, 18 bytes / 32 weights), F32 vectors, Q4_0 lm_head; no embedding
    const matrices = 2 * ((4 * 64 * 64 + 2 * 64 * 256) / 32) * 18, lmHead = (51200 * 64 / 32) * 18;
    const vectors = 4 * (2 * (2 * 64 + 4 * 64 + 256 + 64) + 2 * 64 + 51200);
    expect(r.weightGBPerToken * 1e9).toBe(matrices + lmHead + vectors);
    expect([r.prefillPromptTokens, r.decodeTokens, r.streams]).toEqual([40, 6, 2]);
    for (const v of [r.prefillTokensPerSecond, r.decodeTokensPerSecond, r.aggregateTokensPerSecond]) expect(v).toBeGreaterThan(0);
    expect(r.weightGBPerSecond).toBeCloseTo(r.decodeTokensPerSecond * r.weightGBPerToken, 9);
  }, 180_000);
});
