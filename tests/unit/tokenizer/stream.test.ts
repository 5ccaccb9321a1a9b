import { describe, expect, it } from "vitest";
import { PhiTokenizer } from "../../../src/model/tokenizer.js";

const tok = PhiTokenizer.builtin();

function streamPieces(ids: number[], skipSpecial = false): string[] {
  const decoder = tok.streamDecoder(skipSpecial);
  return [...ids.map((id) => decoder.push(id)), decoder.flush()];
}

/** True when s holds only whole characters (no lone surrogate) and no replacement character. */
function wholeChars(s: string): boolean {
  const roundTrip = new TextDecoder().decode(new TextEncoder().encode(s));
  return roundTrip === s && !s.includes("\uFFFD");
}

const MULTIBYTE = [
  "🤖👍🏽 emoji 👨‍👩‍👧‍👦 family 🇯🇵 flag",
  "日本語のテキストと中文文本，还有한국어 텍스트",
  "Accents: naïve café crème brûlée, Ærøskøbing, Łódź, e\u0301 combining",
  "Math ∑∫√∞ ≠ ≤, arrows →⇒, box ┌─┐, ½ ¾",
  "<|endoftext|>😀<|endoftext|>  \t\t日本",
];

describe("streamDecoder", () => {
  it("joins to the full decode and never yields part of a character", () => {
    for (const text of MULTIBYTE) {
      const ids = tok.encode(text);
      const pieces = streamPieces(ids);
      expect(pieces.join("")).toBe(tok.decode(ids));
      expect(pieces.join("")).toBe(text);
      for (const piece of pieces) expect(wholeChars(piece), JSON.stringify(piece)).toBe(true);
    }
  });

  it("holds back the bytes of a character split across tokens", () => {
    // "🤖" is [8582, 97, 244]: four bytes over three tokens
    expect(tok.encode("🤖")).toEqual([8582, 97, 244]);
    expect(streamPieces([8582, 97, 244])).toEqual(["", "", "🤖", ""]);
  });

  it("gives U+FFFD only for bytes that never complete", () => {
    expect(streamPieces([33768])).toEqual(["", "\uFFFD"]);
    // an added token ends the byte run before it, as in the full decode
    expect(streamPieces([33768, 50256, 98]).join("")).toBe(tok.decode([33768, 50256, 98]));
    // a continuation byte with no lead byte is invalid at once
    expect(streamPieces([33768, 50256, 98])).toEqual(["", "\uFFFD<|endoftext|>", "\uFFFD", ""]);
  });

  it("skips special tokens like decode(ids, true)", () => {
    const ids = [33768, 50256, 98, 50286, 15496];
    expect(streamPieces(ids, true).join("")).toBe("日  Hello");
    expect(tok.decode(ids, true)).toBe("日  Hello");
  });

  it("equals the full decode on arbitrary id sequences", () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let n = 0; n < 500; n++) {
      const ids = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => {
        const r = rand();
        // byte tokens (often partial UTF-8), whole words, added tokens, ids past the vocabulary
        return r < 0.55 ? Math.floor(rand() * 256) : r < 0.85 ? Math.floor(rand() * 50256) : 50256 + Math.floor(rand() * 60);
      });
      for (const skip of [false, true]) expect(streamPieces(ids, skip).join(""), JSON.stringify(ids)).toBe(tok.decode(ids, skip));
    }
  });
});
