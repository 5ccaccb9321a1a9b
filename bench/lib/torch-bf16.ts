/** PyTorch's real bf16 autocast product (bench/peers/bf16_matmul.py, run by /usr/bin/python3; hasTorch() says whether it can). */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Product } from "./product-error.js";

const PYTHON = "/usr/bin/python3";

let torchKnown: boolean | undefined;
export function hasTorch(): boolean {
  return (torchKnown ??= spawnSync(PYTHON, ["-c", "import torch, numpy"], { stdio: "ignore" }).status === 0);
}

export function torchBf16(p: Product): Float32Array {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tunegraph-bf16-"));
  try {
    const file = (name: string) => path.join(dir, name);
    writeFileSync(file("a"), p.a);
    writeFileSync(file("w"), p.w);
    const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../bench/peers/bf16_matmul.py");
    const spec = { threads: Math.min(2, os.availableParallelism()), cases: [{ a: file("a"), w: file("w"), out: file("y"), m: p.m, k: p.k, n: p.n, layout: p.layout }] };
    const r = spawnSync(PYTHON, [script, JSON.stringify(spec)], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`bf16_matmul.py: ${r.stderr.trim().split("\n").slice(-2).join(" ")}`);
    const bytes = readFileSync(file("y"));
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
