import { mkdtemp, rm, utimes } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdapterCache } from "../../../src/backends/onnx/adapter-cache.js";
import { LoraStack } from "../../../src/backends/onnx/lora-stack.js";
import { presetConfig } from "../../../src/model/config.js";
import { ADAPTER_WEIGHTS } from "../../../src/model/peft.js";
import { LORA_SCALES, loraInputName } from "../../../src/model/onnx-names.js";
import { modulePath } from "../../../src/model/phi-layout.js";
import { randomAdapter } from "../../helpers/random-adapter.js";

const config = presetConfig("tiny");
const spec = { targets: ["q_proj", "v_proj"] as ("q_proj" | "v_proj")[], maxRank: 16 };
let root: string;
const dir = (name: string) => path.join(root, name);

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "tg-adapter-cache-"));
  for (const [i, name] of ["a", "b", "c"].entries()) await randomAdapter(dir(name), config, { r: 4 + 4 * i, alpha: 8, targets: ["q_proj", "v_proj"], seed: i + 1 });
});
afterAll(async () => root && rm(root, { recursive: true, force: true }));

describe("AdapterCache", () => {
  it("keeps adapters in use, drops the least recently used unused ones past its byte budget", async () => {
    const probe = await new AdapterCache(config, spec).acquire(dir("b"));
    const cache = new AdapterCache(config, spec, probe.bytes * 2); // room for about two of the three
    const a = await cache.acquire(dir("a"));
    expect(await cache.acquire(dir("a"))).toBe(a); // one load, shared
    const b = await cache.acquire(dir("b"));
    const c = await cache.acquire(dir("c"));
    expect(cache.bytes).toBe(a.bytes + b.bytes + c.bytes); // all in use: none dropped, even past the budget
    for (const x of [a, a, b, c]) cache.release(x);
    expect(cache.bytes).toBeLessThanOrEqual(probe.bytes * 2);
    expect(await cache.acquire(dir("c"))).toBe(c); // the most recent stays
    expect(await cache.acquire(dir("a"))).not.toBe(a); // the oldest was dropped and is read again
  });

  it("reads an adapter afresh once it is rewritten", async () => {
    const cache = new AdapterCache(config, spec);
    const first = await cache.acquire(dir("a"));
    await randomAdapter(dir("a"), config, { r: 4, alpha: 8, targets: ["q_proj", "v_proj"], seed: 99 });
    await utimes(path.join(dir("a"), ADAPTER_WEIGHTS), new Date(), new Date(Date.now() + 5000));
    const second = await cache.acquire(dir("a"));
    expect(second).not.toBe(first);
    expect(second.weights.get(modulePath(0, "q_proj"))!.A).not.toEqual(first.weights.get(modulePath(0, "q_proj"))!.A);
  });

  it("stacks adapters of different ranks: slot 0 empty, each padded with zeros to the largest", async () => {
    const cache = new AdapterCache(config, spec);
    const [a, c] = [await cache.acquire(dir("a")), await cache.acquire(dir("c"))]; // ranks 4 and 12
    const stack = LoraStack.build(config, spec, [a, c]);
    expect([stack.slotOf(null), stack.slotOf(a), stack.slotOf(c)]).toEqual([0, 1, 2]);
    expect([...stack.feeds.get(LORA_SCALES)!.data]).toEqual([0, Math.fround(a.scale), Math.fround(c.scale)]);
    const A = stack.feeds.get(loraInputName(modulePath(1, "v_proj"), "A"))!;
    const inF = config.hidden_size, rank = 12, slots = 3;
    expect(A.dims).toEqual([inF, slots, rank]);
    const src = a.weights.get(modulePath(1, "v_proj"))!.A; // [4, in]
    for (let j = 0; j < inF; j++) {
      for (let k = 0; k < rank; k++) {
        expect(A.data[(j * slots + 0) * rank + k]).toBe(0);
        expect(A.data[(j * slots + 1) * rank + k]).toBe(k < 4 ? src[k * inF + j] : 0);
      }
    }
    expect(stack.serves(new Set([a]))).toBe(true);
    expect(stack.serves(new Set([a, c]))).toBe(true);
  });
});
