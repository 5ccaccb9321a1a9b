import { EOS_TEXT, renderTraining } from "../model/chat-template.js";
import type { Example } from "./types.js";

/** What the data layer needs from a tokenizer (`PhiTokenizer` satisfies it). */
export interface TextTokenizer {
  encode(text: string): number[];
  eosTokenId: number;
}

/** One training sequence; `labels` is -100 where no loss is taken. */
export interface TokenizedExample {
  inputIds: number[];
  labels: number[];
  /** Only for tokenized rows that brought their own mask; otherwise all ones. */
  attentionMask?: number[];
  /**
   * Packed blocks only: which of the block's sequences (0, 1, …) each token belongs to. Attention and position ids stay
   * within one sequence, so a packed sequence trains as it would alone (TRL's padding-free packing).
   */
  segmentIds?: number[];
}

export const IGNORE_INDEX = -100;

function commonPrefix(a: number[], b: number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * Tokenize a rendered conversation as ONE text (so the ids are the ones SFTTrainer and generation see) and, with
 * `completionOnly`, set -100 on the tokens of the untrained segments. A segment boundary falls at the first token where
 * encoding the text up to the boundary disagrees with encoding the whole text; a token that BPE merged across a
 * boundary (e.g. "?###") goes with the later segment.
 */
export function encodeConversation(
  turns: { role: "prompter" | "assistant"; text: string }[],
  tokenizer: TextTokenizer,
  completionOnly: boolean,
  system?: string,
): TokenizedExample {
  const { segments } = renderTraining(turns, system);
  const endsWithEos = segments.at(-1)?.text === EOS_TEXT;
  const body = endsWithEos ? segments.slice(0, -1) : segments;
  const text = body.map((s) => s.text).join("");
  const inputIds = tokenizer.encode(text);
  const labels = inputIds.slice();
  if (completionOnly) {
    let start = 0;
    let chars = 0;
    for (let s = 0; s < body.length; s++) {
      chars += body[s].text.length;
      const end = s === body.length - 1 ? inputIds.length : Math.max(start, commonPrefix(tokenizer.encode(text.slice(0, chars)), inputIds));
      if (!body[s].trainable) labels.fill(IGNORE_INDEX, start, end);
      start = end;
    }
  }
  // EOS by id: it must be the one special token, whatever the tokenizer does with its text
  if (endsWithEos) {
    inputIds.push(tokenizer.eosTokenId);
    labels.push(tokenizer.eosTokenId);
  }
  return { inputIds, labels };
}

/** Tokenize one example; tokenized rows pass through unchanged. */
export function encodeExample(example: Example, tokenizer: TextTokenizer, completionOnly: boolean): TokenizedExample {
  if (example.kind === "tokens") {
    const { inputIds, labels, attentionMask } = example;
    return attentionMask ? { inputIds, labels, attentionMask } : { inputIds, labels };
  }
  return encodeConversation(example.turns, tokenizer, completionOnly, example.system);
}
