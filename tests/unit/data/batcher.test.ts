import { describe, expect, it } from "vitest";
import { Batcher, collate, type Batch } from "../../../src/data/batcher.js";
import { IGNORE_INDEX, type TokenizedExample } from "../../../src/data/encode.js";
import { UserError } from "../../../src/model/errors.js";

/** Sequence i holds ids 1000*i+1.. of length 1 + i % 4 (so the first id names it). */
const seqs: TokenizedExample[] = Array.from({ length: 10 }, (_, i) => {
  const ids = Array.from({ length: 1 + (i % 4) }, (_, j) => 1000 * i + j + 1);
  return { inputIds: ids, labels: ids.map((id, j) => (j === 0 ? IGNORE_INDEX : id)) };
});
const firstIds = (b: Batch): number[] => Array.from({ length: b.batchSize }, (_, r) => b.inputIds[r * b.seqLen]);
const serve = (batcher: Batcher, n: number): Batch[] => Array.from({ length: n }, () => batcher.next());

describe("collate", () => {
  it("right-pads to the longest row: pad id 50256, label -100, mask 0", () => {
    const b = collate(
      [
        { inputIds: [5, 6], labels: [IGNORE_INDEX, 6] },
        { inputIds: [7, 8, 9], labels: [7, 8, 9] },
        { inputIds: [1, 2, 3], labels: [1, 2, 3], attentionMask: [1, 1, 0] },
      ],
      50256,
    );
    expect(b.batchSize).toBe(3);
    expect(b.seqLen).toBe(3);
    expect(Array.from(b.inputIds)).toEqual([5, 6, 50256, 7, 8, 9, 1, 2, 3]);
    expect(Array.from(b.labels)).toEqual([IGNORE_INDEX, 6, IGNORE_INDEX, 7, 8, 9, 1, 2, 3]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 0, 1, 1, 1, 1, 1, 0]);
    expect(b.tokens).toBe(7);
    expect(b.segmentIds).toBeUndefined();
  });

  it("carries packed rows' segment ids, -1 on padding", () => {
    const b = collate(
      [
        { inputIds: [5, 6, 7], labels: [IGNORE_INDEX, 6, IGNORE_INDEX], segmentIds: [0, 0, 1] },
        { inputIds: [8, 9], labels: [IGNORE_INDEX, 9], segmentIds: [0, 0] },
      ],
      50256,
    );
    expect(Array.from(b.segmentIds!)).toEqual([0, 0, 1, 0, 0, -1]);
  });
});

describe("Batcher", () => {
  it("serves every sequence once per epoch, the last batch smaller, epoch as a fraction", () => {
    const batcher = new Batcher(seqs, { batchSize: 4, seed: 1 });
    expect(batcher.stepsPerEpoch).toBe(3);
    const epoch = serve(batcher, 3);
    expect(epoch.map((b) => b.batchSize)).toEqual([4, 4, 2]);
    expect(epoch.flatMap(firstIds).sort((a, b) => a - b)).toEqual(seqs.map((s) => s.inputIds[0]));
    expect(batcher.epoch).toBe(1);
    batcher.next();
    expect(batcher.epoch).toBeCloseTo(4 / 3, 12);
    for (const b of epoch) {
      const longest = Math.max(...firstIds(b).map((id) => seqs[Math.floor(id / 1000)].inputIds.length));
      expect(b.seqLen).toBe(longest); // padded per batch, not to a global length
    }
  });

  it("shuffles by seed: same seed same batches, a new order each epoch", () => {
    const order = (seed: number) => serve(new Batcher(seqs, { batchSize: 4, seed }), 6).map(firstIds);
    const a = order(7);
    expect(order(7)).toEqual(a);
    expect(order(8)).not.toEqual(a);
    expect(a.slice(3).flat()).not.toEqual(a.slice(0, 3).flat());
    expect(a.slice(0, 3).flat()).not.toEqual(seqs.map((s) => s.inputIds[0])); // not the file order
  });

  it("resumes from a saved state with exactly the batches of an uninterrupted run", () => {
    const straight = serve(new Batcher(seqs, { batchSize: 3, seed: 42 }), 13);
    const first = new Batcher(seqs, { batchSize: 3, seed: 42 });
    serve(first, 5);
    const saved = JSON.parse(JSON.stringify(first.state())) as unknown;
    const resumed = new Batcher(seqs, { batchSize: 3, seed: 42 });
    resumed.restore(saved);
    expect(resumed.batchesDone).toBe(5);
    expect(resumed.epoch).toBeCloseTo(5 / 4, 12);
    const rest = serve(resumed, 8);
    rest.forEach((b, i) => {
      expect(Array.from(b.inputIds)).toEqual(Array.from(straight[5 + i].inputIds));
      expect(Array.from(b.labels)).toEqual(Array.from(straight[5 + i].labels));
    });
  });

  it("refuses a state from other data or settings", () => {
    const state = new Batcher(seqs, { batchSize: 3, seed: 42 }).state();
    expect(() => new Batcher(seqs.slice(1), { batchSize: 3, seed: 42 }).restore(state)).toThrow(/saved with 10 sequences, batch size 3, seed 42/);
    expect(() => new Batcher(seqs, { batchSize: 2, seed: 42 }).restore(state)).toThrow(UserError);
    expect(() => new Batcher(seqs, { batchSize: 3, seed: 42 }).restore({ position: "x" })).toThrow(/invalid data position/);
  });

  it("rejects a bad batch size and an empty dataset", () => {
    expect(() => new Batcher(seqs, { batchSize: 0, seed: 1 })).toThrow(/batch size must be an integer >= 1/);
    expect(() => new Batcher([], { batchSize: 1, seed: 1 })).toThrow(UserError);
  });
});
