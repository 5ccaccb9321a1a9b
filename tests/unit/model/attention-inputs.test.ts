import { describe, expect, it } from "vitest";
import { attentionBias, defaultPositions } from "../../../src/model/attention-inputs.js";

/** The bias as rows of 1 (attends) and 0 (masked). */
const allowed = (bias: Float32Array, T: number): number[][] =>
  Array.from({ length: T }, (_, i) => Array.from(bias.subarray(i * T, (i + 1) * T), (x) => (x === 0 ? 1 : 0)));

describe("attention inputs of packed rows", () => {
  const mask = [[1, 1, 1, 1, 1, 0]];
  const segments = [[0, 0, 1, 1, 1, -1]];

  it("restart positions at each sequence of the row; padding keeps position 1", () => {
    expect(defaultPositions(mask)).toEqual([[0, 1, 2, 3, 4, 1]]);
    expect(defaultPositions(mask, segments)).toEqual([[0, 1, 0, 1, 2, 1]]);
  });

  it("attend block-diagonally: causal, within the sequence, never to padding", () => {
    expect(allowed(attentionBias(mask, segments), 6)).toEqual([
      [1, 0, 0, 0, 0, 0],
      [1, 1, 0, 0, 0, 0],
      [0, 0, 1, 0, 0, 0],
      [0, 0, 1, 1, 0, 0],
      [0, 0, 1, 1, 1, 0],
      [0, 0, 0, 0, 0, 0],
    ]);
    expect(allowed(attentionBias(mask), 6)[4]).toEqual([1, 1, 1, 1, 1, 0]); // unpacked: the whole causal prefix
  });
});
