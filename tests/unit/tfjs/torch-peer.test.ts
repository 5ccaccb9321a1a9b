import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presetConfig, type PhiConfig } from "../../../src/model/config.js";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { PhiModel, type TokenBatch } from "../../../src/backends/tfjs/phi.js";
import { relativeError, tensorShapes } from "../../helpers/phi-reference.js";
import { loaderOf, randomWeights } from "./reference.js";

// the PyTorch peer (tests/peers/phi_reference.py) runs where some python3 has torch (Debian: apt-get install python3-torch)
const peer = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../peers/phi_reference.py");
const python = [process.env.TUNEGRAPH_PYTHON, "python3", "/usr/bin/python3"].find(
  (p) => p && spawnSync(p, ["-c", "import torch, numpy"], { stdio: "ignore" }).status === 0,
);

interface Case {
  label: string;
  config: PhiConfig;
  weights: Map<string, Float32Array>;
  batch: TokenBatch;
  /** [row, first real position] pairs compared (HF leaves padded positions unspecified). */
  compare: [number, number][];
}

const odd = { vocab_size: 101, hidden_size: 36, intermediate_size: 50, num_hidden_layers: 2, num_attention_heads: 3, partial_rotary_factor: 0.4 };
const phi2Head = { vocab_size: 64, hidden_size: 160, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 2, partial_rotary_factor: 0.4, rope_theta: 500 };
const padded: TokenBatch = {
  inputIds: [[3, 9, 27, 1, 50, 8, 2, 40, 33], [0, 0, 0, 61, 7, 7, 19, 5, 44]],
  attentionMask: [[1, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1, 1]],
};
const make = (label: string, overrides: Record<string, unknown>, seed: number, batch: TokenBatch, compare: [number, number][]): Case => {
  const config = presetConfig("tiny", overrides);
  return { label, config, weights: randomWeights(config, seed), batch, compare };
};
const cases: Case[] = [
  make("odd sizes (3 heads of 12, 4 rotary dims), left-padded batch", odd, 11, padded, [[0, 0], [1, 3]]),
  make("phi-2's head shape (80 dims, 32 rotary), left-padded batch", phi2Head, 11, padded, [[0, 0], [1, 3]]),
  make("explicit position ids", odd, 12, { inputIds: [[4, 8, 15, 16, 23, 42]], positionIds: [[7, 9, 100, 101, 300, 1000]] }, [[0, 0]]),
];

let root = "";
const reference = new Map<Case, Float32Array>();

async function writeCase(dir: string, c: Case): Promise<void> {
  await fs.mkdir(dir);
  const index: Record<string, [number, number[]]> = {};
  const shapes = tensorShapes(c.config);
  const blob = new Float32Array(shapes.reduce((n, [name]) => n + c.weights.get(name)!.length, 0));
  let offset = 0;
  for (const [name, shape] of shapes) {
    index[name] = [offset, shape];
    blob.set(c.weights.get(name)!, offset);
    offset += c.weights.get(name)!.length;
  }
  await fs.writeFile(path.join(dir, "config.json"), JSON.stringify(c.config));
  await fs.writeFile(path.join(dir, "weights.json"), JSON.stringify(index));
  await fs.writeFile(path.join(dir, "weights.bin"), new Uint8Array(blob.buffer));
  await fs.writeFile(path.join(dir, "inputs.json"), JSON.stringify({ input_ids: c.batch.inputIds, attention_mask: c.batch.attentionMask, position_ids: c.batch.positionIds }));
}

describe.skipIf(!python)("PhiModel against the PyTorch peer of HF's PhiForCausalLM", () => {
  beforeAll(async () => {
    await initEngine();
    root = await fs.mkdtemp(path.join(os.tmpdir(), "tg-"));
    const dirs = cases.map((_, i) => path.join(root, `case${i}`));
    for (let i = 0; i < cases.length; i++) await writeCase(dirs[i], cases[i]);
    // one interpreter for every case: importing torch is the slow part
    const r = spawnSync(python!, [peer, ...dirs], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`peer failed: ${r.stderr}`);
    for (let i = 0; i < cases.length; i++) {
      const buf = await fs.readFile(path.join(dirs[i], "logits.bin"));
      reference.set(cases[i], new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
    }
  });
  afterAll(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  for (const c of cases) {
    it(`matches within 1e-4 relative: ${c.label}`, async () => {
      const model = await PhiModel.load(c.config, loaderOf(c.weights));
      const logits = model.forward(c.batch);
      const ours = logits.dataSync();
      logits.dispose();
      model.dispose();
      const ref = reference.get(c)!;
      const T = c.batch.inputIds[0].length, v = c.config.vocab_size;
      expect(ref.length).toBe(c.batch.inputIds.length * T * v);
      for (const [row, from] of c.compare) {
        const span = [(row * T + from) * v, (row + 1) * T * v] as const;
        expect(relativeError(ours.subarray(...span), ref.subarray(...span))).toBeLessThan(1e-4);
      }
    });
  }
});
