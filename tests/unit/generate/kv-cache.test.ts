import { describe, expect, it } from "vitest";
import { BatchCache, type KvShape } from "../../../src/backends/onnx/kv-cache.js";

const shape: KvShape = { layers: 1, numHeads: 2, headDim: 1, float16: false };

/** Write `n` tokens to every row: the value of (row, head, token) is 100·(row+1) + 10·head + token index. */
function fill(cache: BatchCache, n: number, base = 0): void {
  cache.reserve(n);
  const k = new Float32Array(cache.batch * 2 * n);
  for (let r = 0; r < cache.batch; r++) for (let h = 0; h < 2; h++) for (let t = 0; t < n; t++) k[(r * 2 + h) * n + t] = 100 * (r + 1) + 10 * h + base + t;
  cache.write(0, k, k.map((x) => -x), n);
  cache.commit(n);
}

/** Row r's keys per head, in slot order. */
const rowKeys = (c: BatchCache, r: number) => [0, 1].map((h) => [...c.keys[0].subarray((r * 2 + h) * c.capacity, (r * 2 + h) * c.capacity + c.lengths[r])]);

describe("BatchCache", () => {
  it("appends new tokens after each row's own and masks the free slots", () => {
    const c = BatchCache.empty(shape, 2);
    fill(c, 3);
    fill(c, 1, 3);
    expect(c.lengths).toEqual([4, 4]);
    expect(c.capacity).toBe(64);
    expect(rowKeys(c, 1)).toEqual([[200, 201, 202, 203], [210, 211, 212, 213]]);
    expect(c.values[0][64]).toBe(-110);
    const mask = [...c.attentionMask(1)].map(Number);
    expect(mask.slice(0, 65)).toEqual([1, 1, 1, 1, ...new Array(60).fill(0), 1]);
    expect(mask).toHaveLength(2 * 65);
  });

  it("grows by whole blocks of slots, keeping every row's tokens", () => {
    const c = BatchCache.empty(shape, 1);
    fill(c, 60);
    fill(c, 10, 60);
    expect(c.capacity).toBe(128);
    expect(rowKeys(c, 0)[1]).toEqual(Array.from({ length: 70 }, (_, t) => 110 + t));
  });

  it("joins another batch's rows and drops rows, shrinking to what the rest need", () => {
    const a = BatchCache.empty(shape, 1);
    fill(a, 2);
    const b = BatchCache.empty(shape, 1);
    fill(b, 70);
    a.append(b);
    expect(a.lengths).toEqual([2, 70]);
    expect(a.capacity).toBe(128);
    expect(rowKeys(a, 0)).toEqual([[100, 101], [110, 111]]);
    expect(rowKeys(a, 1)[0]).toEqual(Array.from({ length: 70 }, (_, t) => 100 + t));
    a.select([0]);
    expect(a.lengths).toEqual([2]);
    expect(a.capacity).toBe(64);
    expect(rowKeys(a, 0)).toEqual([[100, 101], [110, 111]]);
  });
});
