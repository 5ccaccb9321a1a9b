import { describe, expect, it } from "vitest";
import { Sequence } from "../../../src/backends/onnx/generate.js";
import { DEFAULT_SAMPLING, type SamplingOptions } from "../../../src/backends/types.js";
import { PhiTokenizer } from "../../../src/model/tokenizer.js";

const tok = PhiTokenizer.builtin();
const VOCAB = 51200;

/** Logits that make greedy sampling pick `id`. */
function oneHot(id: number): Float32Array {
  const l = new Float32Array(VOCAB);
  l[id] = 10;
  return l;
}

function sequence(sampling: Partial<SamplingOptions>, onText?: (c: string) => void, context = 2048): Sequence {
  return new Sequence({ promptIds: tok.encode("Q:"), sampling: { ...DEFAULT_SAMPLING, ...sampling }, adapter: null }, tok, tok.eosTokenId, context, onText);
}

describe("Sequence", () => {
  it("streams multi-byte text without splitting characters", () => {
    const text = "naïve café — 東京 🎉👍🏽 ok";
    const ids = tok.encode(text);
    expect(ids.length).toBeGreaterThan(8);
    const chunks: string[] = [];
    const seq = sequence({ maxNewTokens: ids.length }, (c) => chunks.push(c));
    for (const id of ids) seq.accept(oneHot(id));
    expect(chunks.join("")).toBe(text);
    expect(chunks.some((c) => c.includes("\uFFFD"))).toBe(false);
    // at least one token ended mid-character: fewer chunks than tokens
    expect(chunks.length).toBeLessThan(ids.length);
    const r = seq.result();
    expect(r).toMatchObject({ text, tokens: ids, finishReason: "length", completionTokens: ids.length, promptTokens: 2 });
  });

  it("stops on EOS without emitting it", () => {
    const seq = sequence({ maxNewTokens: 10 });
    seq.accept(oneHot(tok.encode(" yes")[0]));
    seq.accept(oneHot(tok.eosTokenId));
    expect(seq.result()).toMatchObject({ text: " yes", finishReason: "stop", completionTokens: 2 });
    expect(seq.result().tokens).toEqual(tok.encode(" yes"));
  });

  it("stops on a stop sequence that spans tokens, keeping it out of the text", () => {
    const chunks: string[] = [];
    const seq = sequence({ maxNewTokens: 50, stop: ["### Human"] }, (c) => chunks.push(c));
    for (const id of tok.encode(" Fine, thanks.### Human: more")) {
      seq.accept(oneHot(id));
      if (seq.done) break;
    }
    expect(seq.result()).toMatchObject({ text: " Fine, thanks.", finishReason: "stop" });
    expect(chunks.join("")).toBe(" Fine, thanks.");
  });

  it("ends with length at maxNewTokens or at the context, and reports cancellation", () => {
    const a = sequence({ maxNewTokens: 2 });
    a.accept(oneHot(100));
    expect(a.done).toBe(false);
    a.accept(oneHot(101));
    expect(a.result().finishReason).toBe("length");
    const b = sequence({ maxNewTokens: 10 }, undefined, 3); // 2 prompt tokens + 1
    b.accept(oneHot(100));
    expect(b.result()).toMatchObject({ finishReason: "length", completionTokens: 1 });
    const c = sequence({ maxNewTokens: 10 });
    c.accept(oneHot(100));
    c.cancel();
    c.accept(oneHot(101));
    expect(c.result()).toMatchObject({ finishReason: "cancelled", completionTokens: 1 });
  });
});
