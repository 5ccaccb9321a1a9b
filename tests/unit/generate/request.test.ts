import { describe, expect, it } from "vitest";
import { resolveRequest } from "../../../src/backends/onnx/request.js";
import type { GenerationRequest } from "../../../src/backends/types.js";
import { UserError } from "../../../src/model/errors.js";
import { PhiTokenizer } from "../../../src/model/tokenizer.js";

const tok = PhiTokenizer.builtin();
const limits = { contextLength: 64, maxNewTokens: 32 };
const resolve = (r: GenerationRequest) => resolveRequest(r, tok, limits);

function rejects(r: GenerationRequest, field: RegExp): void {
  let err: unknown;
  try {
    resolve(r);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  expect((err as Error).message).toMatch(field);
}

describe("resolveRequest", () => {
  it("fills defaults and tokenizes a raw prompt exactly as given", () => {
    const r = resolve({ prompt: "Hello world" });
    expect(r.promptIds).toEqual(tok.encode("Hello world"));
    // the default maxNewTokens (64) is capped by the configured limit
    expect(r.sampling).toMatchObject({ maxNewTokens: 32, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, stop: [] });
  });

  it("renders chat messages with the training template", () => {
    const r = resolve({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }], maxNewTokens: 8 });
    expect(tok.decode(r.promptIds)).toBe("Be brief.\n### Human: Hi### Assistant:");
  });

  it("names the field of each bad value", () => {
    rejects({ prompt: "x", temperature: -0.1 }, /^temperature/);
    rejects({ prompt: "x", topP: 0 }, /^topP/);
    rejects({ prompt: "x", topP: 1.5 }, /^topP/);
    rejects({ prompt: "x", topK: -1 }, /^topK/);
    rejects({ prompt: "x", maxNewTokens: 0 }, /^maxNewTokens/);
    rejects({ prompt: "x", maxNewTokens: 33 }, /^maxNewTokens .*\[1, 32\]/);
    rejects({ prompt: "x", repetitionPenalty: 0 }, /^repetitionPenalty/);
    rejects({ prompt: "x", seed: 1.5 }, /^seed/);
    rejects({ prompt: "x", stop: [""] }, /^stop/);
    rejects({ prompt: "" }, /^prompt/);
    rejects({}, /prompt or messages/);
    rejects({ prompt: "x", messages: [{ role: "user", content: "y" }] }, /prompt or messages/);
    rejects({ messages: [{ role: "robot" as "user", content: "y" }] }, /^messages\[0\]\.role/);
    rejects({ messages: [{ role: "user", content: " " }] }, /^messages\[0\]\.content/);
  });

  it("rejects a prompt longer than the context, or keeps its end when asked to truncate", () => {
    const long = Array.from({ length: 80 }, (_, i) => `w${i}`).join(" ");
    rejects({ prompt: long }, /^prompt is \d+ tokens, the model's context is 64/);
    const r = resolve({ prompt: long, truncate: true, maxNewTokens: 10 });
    const ids = tok.encode(long);
    expect(r.promptIds).toEqual(ids.slice(ids.length - 54));
  });
});
