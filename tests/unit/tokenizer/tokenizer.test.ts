import { describe, expect, it } from "vitest";
import { PhiTokenizer } from "../../../src/model/tokenizer.js";

const tok = PhiTokenizer.builtin();

// Expected ids computed with HF's Rust tokenizers (npm `tokenizers` 0.23.2) on phi-2's tokenizer.json layout.
const REFERENCE: [string, number[]][] = [
  ["Hello world", [15496, 995]],
  [" Hello  world!", [18435, 50286, 6894, 0]],
  ["<|endoftext|>", [50256]],
  ["Hi<|endoftext|>there", [17250, 50256, 8117]],
  ["héllo wörld, café", [71, 2634, 18798, 266, 30570, 335, 11, 40304]],
  ["日本語のテキスト", [33768, 98, 17312, 105, 45739, 252, 5641, 24336, 25084, 43302]],
  ["🤖👍🏽 ok", [8582, 97, 244, 41840, 235, 8582, 237, 121, 12876]],
  ["one\n\ntwo\n \n  three", [505, 198, 198, 11545, 198, 220, 198, 50286, 15542]],
  // Oniguruma's \s (HF) holds U+0085 and not U+FEFF, unlike JavaScript's
  ["a \uFEFFb", [64, 27332, 119, 123, 65]],
  ["!\u0085a", [0, 126, 227, 64]],
];

// Runs of spaces and tabs are phi-2's added tokens, matched before BPE (longest first).
const WHITESPACE: [string, number[]][] = [
  ["x y", [87, 331]],
  ["x  y", [87, 50286, 88]],
  ["x   y", [87, 50285, 88]],
  ["x" + " ".repeat(31) + "y", [87, 50257, 88]],
  ["x" + " ".repeat(32) + "y", [87, 50257, 331]],
  ["x" + " ".repeat(40) + "y", [87, 50257, 50279, 88]],
  ["  indented", [50286, 521, 4714]],
  ["end  ", [437, 50286]],
  ["a\tb", [64, 197, 65]],
  ["\t\tx", [50294, 87]],
  ["a" + "\t".repeat(9) + "b", [64, 50287, 65]],
  ["a" + "\t".repeat(12) + "b", [64, 50287, 50293, 65]],
  ["def f():\n    return 1\n\t\tpass", [4299, 277, 33529, 198, 50284, 7783, 352, 198, 50294, 6603]],
];

const VARIED = [
  "Hello , world . Isn 't it ? ' quoted ' don't",
  "def main():\n\tif x  ==  1:\n\t\treturn {'a': [1, 2]}\n",
  "# Title\n\n- item one\n- item **two**\n\n```ts\nconst a = 1;\n```",
  "Mixed: naïve façade, Ærøskøbing, 東京, 서울, مرحبا, עברית, 🚀✨ 1e-5 3.14159",
  "   leading and trailing   \n\n\n",
  "\u00a0non-breaking\u3000ideographic\u200bzero-width\uFEFFbom",
  "<|endoftext|>### Human: hi### Assistant: hello<|endoftext|>",
];

describe("PhiTokenizer (built-in phi-2)", () => {
  it("gives HF's ids", () => {
    for (const [text, ids] of REFERENCE) expect(tok.encode(text), JSON.stringify(text)).toEqual(ids);
  });

  it("matches whitespace runs as added tokens", () => {
    for (const [text, ids] of WHITESPACE) expect(tok.encode(text), JSON.stringify(text)).toEqual(ids);
  });

  it("has phi-2's eos and vocabulary size", () => {
    expect(tok.eosTokenId).toBe(50256);
    // 50257 BPE tokens + 38 whitespace tokens; the model's embedding has 51200 rows
    expect(tok.vocabSize).toBe(50295);
  });

  it("is built once per process", () => {
    expect(PhiTokenizer.builtin()).toBe(tok);
  });

  it("round-trips varied text", () => {
    for (const text of [...VARIED, ...REFERENCE.map(([t]) => t), ...WHITESPACE.map(([t]) => t)]) {
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
  });

  it("skips special tokens on request", () => {
    const ids = tok.encode("<|endoftext|>Hi  there<|endoftext|>");
    expect(tok.decode(ids, true)).toBe("Hi  there");
    expect(tok.decode(ids)).toBe("<|endoftext|>Hi  there<|endoftext|>");
  });

  it("encodes and decodes nothing to nothing, and decodes ids past the vocabulary (model rows 50295..51199) to nothing", () => {
    expect(tok.encode("")).toEqual([]);
    expect(tok.decode([])).toBe("");
    expect(tok.decode([15496, 51000, 995])).toBe("Hello world");
  });

  it("replaces an unfinished UTF-8 character with U+FFFD", () => {
    // "日" is [33768, 98]: the first token holds two of its three bytes
    expect(tok.decode([33768])).toBe("\uFFFD");
    expect(tok.decode([33768, 98])).toBe("日");
  });
});
