import { describe, expect, it } from "vitest";
import { storable, storableText } from "../../../src/db/storable.js";

describe("storable (PostgreSQL text and jsonb refuse U+0000)", () => {
  it("turns every NUL into U+FFFD, in strings, keys and nested values", () => {
    expect(storableText("a\u0000b\u0000")).toBe("a\uFFFDb\uFFFD");
    expect(storable({ data: { error: "x\u0000", list: ["\u0000"], "k\u0000": { n: 1, ok: true, none: null } } })).toEqual({
      data: { error: "x\uFFFD", list: ["\uFFFD"], "k\uFFFD": { n: 1, ok: true, none: null } },
    });
  });

  it("keeps what is not a plain object as it is", () => {
    const at = new Date(0);
    const bytes = Buffer.from([0, 1]);
    const big = 10n;
    const out = storable({ at, bytes, big });
    expect(out.at).toBe(at);
    expect(out.bytes).toBe(bytes);
    expect(out.big).toBe(big);
  });
});
