import { describe, expect, it } from "vitest";
import { ASSISTANT_MARKER, EOS_TEXT, HUMAN_MARKER, renderPrompt, renderTraining } from "../../../src/model/chat-template.js";
import { UserError } from "../../../src/model/errors.js";

describe("chat template", () => {
  it("renders a training conversation in the guanaco form, EOS after the last reply", () => {
    const r = renderTraining([
      { role: "prompter", text: "What is 2+2?" },
      { role: "assistant", text: "4." },
      { role: "prompter", text: " And 3+3? " },
      { role: "assistant", text: "6." },
    ]);
    expect(r.text).toBe("### Human: What is 2+2?### Assistant: 4.### Human: And 3+3?### Assistant: 6.<|endoftext|>");
    expect(r.segments).toEqual([
      { text: "### Human: What is 2+2?### Assistant:", trainable: false },
      { text: " 4.", trainable: true },
      { text: "### Human: And 3+3?### Assistant:", trainable: false },
      { text: " 6.", trainable: true },
      { text: "<|endoftext|>", trainable: true },
    ]);
    expect(r.segments.map((s) => s.text).join("")).toBe(r.text);
  });

  it("renders a serving prompt ending with the assistant marker, no trailing space", () => {
    const prompt = renderPrompt([
      { role: "system", content: "Be brief." },
      { role: "user", content: "What is 2+2?" },
      { role: "assistant", content: "4." },
      { role: "user", content: "And 3+3?" },
    ]);
    expect(prompt).toBe("Be brief.\n### Human: What is 2+2?### Assistant: 4.### Human: And 3+3?### Assistant:");
    expect(renderPrompt([{ role: "user", content: "Hi" }])).toBe("### Human: Hi### Assistant:");
  });

  it("a prompt plus the reply is exactly the training text", () => {
    const prompt = renderPrompt([{ role: "user", content: "Hi" }]);
    const train = renderTraining([{ role: "prompter", text: "Hi" }, { role: "assistant", text: "Hello there" }]);
    expect(`${prompt} Hello there${EOS_TEXT}`).toBe(train.text);
  });

  it("puts a chat row's system text where the serving prompt puts it, untrained", () => {
    const messages = [{ role: "system" as const, content: "Be brief." }, { role: "user" as const, content: "Hi" }];
    const train = renderTraining([{ role: "prompter", text: "Hi" }, { role: "assistant", text: "Hello" }], "Be brief.");
    expect(train.text).toBe(`${renderPrompt(messages)} Hello${EOS_TEXT}`);
    expect(train.segments[0]).toEqual({ text: "Be brief.\n### Human: Hi### Assistant:", trainable: false });
  });

  it("exports the markers and EOS", () => {
    expect([HUMAN_MARKER, ASSISTANT_MARKER, EOS_TEXT]).toEqual(["### Human:", "### Assistant:", "<|endoftext|>"]);
  });

  it("refuses a prompt that does not end with a user message", () => {
    expect(() => renderPrompt([])).toThrow(UserError);
    expect(() => renderPrompt([{ role: "system", content: "s" }])).toThrow(/last message .* must be a user message/);
    expect(() => renderPrompt([{ role: "user", content: "a" }, { role: "assistant", content: "b" }])).toThrow(UserError);
  });
});
