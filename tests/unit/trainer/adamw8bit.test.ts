import { describe, expect, it } from "vitest";
import { AdamW } from "../../../src/backends/training/optim/adamw.js";
import { AdamW8bit, MIN_8BIT_SIZE, STATE_BLOCK } from "../../../src/backends/training/optim/adamw8bit.js";
import { dequantizeBlockwise8, dynamicMap } from "../../../src/model/nf4.js";
import { Rng } from "../../../src/model/random.js";

const opts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

function randn(n: number, rng: Rng, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

describe("AdamW8bit (bitsandbytes blockwise 8-bit states)", () => {
  it("keeps 32-bit state under 4096 elements and 8-bit codes with one absmax per 256 from 4096 up", () => {
    const opt = new AdamW8bit([MIN_8BIT_SIZE - 1, MIN_8BIT_SIZE + 10], opts);
    const st = opt.state();
    expect(st.map((t) => `${t.name}:${t.dtype}:${t.shape}`)).toEqual([
      "0.state1:F32:4095", "0.state2:F32:4095",
      "1.state1:U8:4106", `1.absmax1:F32:${Math.ceil(4106 / STATE_BLOCK)}`, "1.state2:U8:4106", `1.absmax2:F32:${Math.ceil(4106 / STATE_BLOCK)}`,
    ]);
  });

  it("quantized moments round-trip within the dynamic map's resolution, and track 32-bit AdamW", () => {
    const rng = new Rng(1);
    const n = 8192;
    const p0 = randn(n, rng);
    const p8 = p0.slice();
    const p32 = p0.slice();
    const o8 = new AdamW8bit([n], opts);
    const o32 = new AdamW([n], opts);
    for (let k = 0; k < 5; k++) {
      const g = randn(n, rng, 0.01);
      o8.step([p8], [g], 1e-3);
      o32.step([p32], [g], 1e-3);
    }
    const s8 = new Map(o8.state().map((t) => [t.name, t.data]));
    const s32 = new Map(o32.state().map((t) => [t.name, t.data as Float32Array]));
    const m = dequantizeBlockwise8({ codes: s8.get("0.state1") as Uint8Array, absmax: s8.get("0.absmax1") as Float32Array, blockSize: STATE_BLOCK }, dynamicMap(true));
    const v = dequantizeBlockwise8({ codes: s8.get("0.state2") as Uint8Array, absmax: s8.get("0.absmax2") as Float32Array, blockSize: STATE_BLOCK }, dynamicMap(false));
    const rel = (a: Float32Array, b: Float32Array) => {
      let d = 0, s = 0;
      for (let i = 0; i < a.length; i++) { d += (a[i] - b[i]) ** 2; s += b[i] ** 2; }
      return Math.sqrt(d / s);
    };
    expect(rel(m, s32.get("0.exp_avg")!)).toBeLessThan(0.05);
    expect(rel(v, s32.get("0.exp_avg_sq")!)).toBeLessThan(0.05);
    // every first-moment code has the sign of the value it stands for
    const m32 = s32.get("0.exp_avg")!;
    let wrongSign = 0;
    for (let i = 0; i < n; i++) if (m[i] * m32[i] < 0) wrongSign++;
    expect(wrongSign).toBeLessThan(n * 0.01);
    // both moved the parameters by about 5 steps of lr, and the 8-bit one's moves stay within a fifth of that of the 32-bit one's
    let moved8 = 0, moved32 = 0, diff = 0;
    for (let i = 0; i < n; i++) {
      moved8 = Math.max(moved8, Math.abs(p8[i] - p0[i]));
      moved32 = Math.max(moved32, Math.abs(p32[i] - p0[i]));
      diff = Math.max(diff, Math.abs(p32[i] - p8[i]));
    }
    expect(moved32).toBeGreaterThan(4e-3);
    expect(moved8).toBeGreaterThan(4e-3);
    expect(diff).toBeLessThan(0.2 * 5e-3);
  });

  it("saved state restores to the same next update, bit for bit", () => {
    const rng = new Rng(2);
    const sizes = [100, 5000];
    const ps = sizes.map((n) => randn(n, rng));
    const a = new AdamW8bit(sizes, opts);
    a.step(ps, sizes.map((n) => randn(n, rng, 0.1)), 1e-3);
    const saved = new Map(a.state().map((t) => [t.name, t.data.slice()]));
    const b = new AdamW8bit(sizes, opts);
    b.restore(a.stepCount, saved);
    const qs = ps.map((p) => p.slice());
    const g = sizes.map((n) => randn(n, rng, 0.1));
    a.step(ps, g, 1e-3);
    b.step(qs, g, 1e-3);
    ps.forEach((p, i) => expect(Buffer.from(qs[i].buffer).equals(Buffer.from(p.buffer))).toBe(true));
  });
});
