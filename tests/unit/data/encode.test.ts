import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { encodeConversation, IGNORE_INDEX } from "../../../src/data/encode.js";
import { readConversations } from "../../../src/data/read.js";
import { prepareSequences } from "../../../src/data/sequences.js";
import type { Example } from "../../../src/data/types.js";
import { renderTraining } from "../../../src/model/chat-template.js";
import { PhiTokenizer } from "../../../src/model/tokenizer.js";

const tok = PhiTokenizer.builtin();
const conv = (...texts: string[]): Example => ({
  kind: "conversation",
  turns: texts.map((text, i) => ({ role: i % 2 === 0 ? "prompter" : "assistant", text })),
});
const turnsOf = (e: Example) => (e.kind === "conversation" ? e.turns : []);

/** The runs of consecutive trained tokens, decoded. */
function trainedRuns(ids: number[], labels: number[]): string[] {
  const runs: string[] = [];
  let run: number[] = [];
  for (let i = 0; i <= ids.length; i++) {
    if (i < ids.length && labels[i] !== IGNORE_INDEX) run.push(ids[i]);
    else if (run.length > 0) {
      runs.push(tok.decode(run));
      run = [];
    }
  }
  return runs;
}

describe("encodeConversation", () => {
  const example = conv("What is the capital of France?", "Paris, of course", "And of Italy?", "Rome");

  it("tokenizes the whole rendered text, EOS included and trained", () => {
    const { inputIds, labels } = encodeConversation(turnsOf(example), tok, false);
    expect(inputIds).toEqual(tok.encode(renderTraining(turnsOf(example)).text));
    expect(inputIds.at(-1)).toBe(50256);
    expect(labels).toEqual(inputIds);
  });

  it("with completionOnly, trains exactly the assistant replies and the EOS", () => {
    const { inputIds, labels } = encodeConversation(turnsOf(example), tok, true);
    expect(inputIds).toEqual(encodeConversation(turnsOf(example), tok, false).inputIds);
    expect(trainedRuns(inputIds, labels)).toEqual([" Paris, of course", " Rome<|endoftext|>"]);
    // every masked token is prompt side: together they decode to the human turns and markers
    const masked = inputIds.filter((_, i) => labels[i] === IGNORE_INDEX);
    expect(tok.decode(masked)).toBe("### Human: What is the capital of France?### Assistant:### Human: And of Italy?### Assistant:");
    labels.forEach((l, i) => expect(l === IGNORE_INDEX || l === inputIds[i]).toBe(true));
  });

  it("gives a token merged across a reply's end to the prompt that follows", () => {
    // " ##" + "###" tokenizes as one " #####": it is not the reply's, so it is not trained
    const { inputIds, labels } = encodeConversation(turnsOf(conv("a", "see ##", "b", "c")), tok, true);
    expect(inputIds.map((id) => tok.decode([id]))).toContain(" #####");
    expect(trainedRuns(inputIds, labels)).toEqual([" see", " c<|endoftext|>"]);
  });
});

describe("prepareSequences", () => {
  const examples = [conv("Hello there", "General Kenobi"), conv("Count to five", "one two three four five")];

  it("truncates to maxSeqLength, keeping the start", () => {
    const full = prepareSequences(examples, tok, { maxSeqLength: 512, completionOnly: false, packing: false });
    const cut = prepareSequences(examples, tok, { maxSeqLength: 6, completionOnly: false, packing: false });
    expect(cut.counts.truncated).toBe(2);
    cut.sequences.forEach((s, i) => {
      expect(s.inputIds).toEqual(full.sequences[i].inputIds.slice(0, 6));
      expect(s.labels).toEqual(full.sequences[i].labels.slice(0, 6));
    });
    expect(full.counts.truncated).toBe(0);
    expect(full.counts.tokens).toBe(full.sequences[0].inputIds.length + full.sequences[1].inputIds.length);
  });

  it("drops a sequence left without any trained label and counts it", () => {
    // 9 tokens: "###| Human|:| Hello| there|###| Assistant|:| General" and "###| Human|:| Count| to| five|###| Assistant|:"
    const r = prepareSequences(examples, tok, { maxSeqLength: 9, completionOnly: true, packing: false });
    expect(r.sequences).toHaveLength(1);
    expect(trainedRuns(r.sequences[0].inputIds, r.sequences[0].labels)).toEqual([" General"]);
    expect(r.counts).toMatchObject({ examples: 2, sequences: 1, truncated: 2, trainedTokens: 1, skipped: { no_trained_tokens: 1 } });
    expect(() => prepareSequences([examples[0]], tok, { maxSeqLength: 4, completionOnly: true, packing: false })).toThrow(
      /no training sequences: all 1 examples were dropped \(no_trained_tokens 1\)/,
    );
  });

  it("packs examples separated by EOS into blocks of maxSeqLength, each piece a sequence of its own", () => {
    const tokens: Example[] = [
      { kind: "tokens", inputIds: [1, 2, 3], labels: [1, 2, 3] },
      { kind: "tokens", inputIds: [4, 5, 50256], labels: [IGNORE_INDEX, 5, 50256] },
      { kind: "tokens", inputIds: [6, 7, 8, 9], labels: [6, 7, 8, 9], attentionMask: [1, 1, 1, 0] },
    ];
    const r = prepareSequences(tokens, tok, { maxSeqLength: 4, completionOnly: false, packing: true });
    // a sequence's first label is never predicted from the one before; the third example, cut at the block's end,
    // goes on in the next block as a new sequence (segment 0 again, its first label not counted)
    expect(r.sequences).toEqual([
      { inputIds: [1, 2, 3, 50256], labels: [IGNORE_INDEX, 2, 3, 50256], attentionMask: [1, 1, 1, 1], segmentIds: [0, 0, 0, 0] },
      { inputIds: [4, 5, 50256, 6], labels: [IGNORE_INDEX, 5, 50256, IGNORE_INDEX], attentionMask: [1, 1, 1, 1], segmentIds: [0, 0, 0, 1] },
      { inputIds: [7, 8, 9, 50256], labels: [IGNORE_INDEX, 8, 9, 50256], attentionMask: [1, 1, 0, 1], segmentIds: [0, 0, 0, 0] },
    ]);
    expect(r.counts).toMatchObject({ truncated: 0, trainedTokens: 3 + 2 + 3 });
  });

  it("rejects a token id outside the model's vocabulary", () => {
    const bad: Example[] = [{ kind: "tokens", inputIds: [1, 60000], labels: [1, 60000] }];
    expect(() => prepareSequences(bad, tok, { maxSeqLength: 8, completionOnly: false, packing: false, vocabSize: 51200 })).toThrow(
      /example 1: token id 60000 is outside the model's vocabulary \(51200\)/,
    );
  });
});

const sample = path.resolve(import.meta.dirname, "../../..", "../shared/data/oasst1/en-validation.jsonl");

describe.skipIf(!existsSync(sample))("the real OASST1 sample, tokenized", () => {
  it("gives sequences within maxSeqLength that train on the replies only", async () => {
    const { examples } = await readConversations(sample);
    const all = prepareSequences(examples, tok, { maxSeqLength: 512, completionOnly: false, packing: false });
    const replies = prepareSequences(examples, tok, { maxSeqLength: 512, completionOnly: true, packing: false });
    expect(all.sequences.length).toBe(examples.length);
    expect(all.counts.truncated).toBeGreaterThan(0);
    expect(all.sequences.every((s) => s.inputIds.length <= 512 && s.inputIds.length > 10)).toBe(true);
    expect(replies.counts.trainedTokens).toBeLessThan(all.counts.trainedTokens);
    expect(replies.counts.trainedTokens).toBeGreaterThan(all.counts.trainedTokens / 3);
    const packed = prepareSequences(examples, tok, { maxSeqLength: 512, completionOnly: false, packing: true });
    expect(packed.sequences.slice(0, -1).every((s) => s.inputIds.length === 512)).toBe(true);
  });
});
