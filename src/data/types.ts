/** What the conversation readers produce (framework-free). */

// how conversations are read (DataOptions, its defaults and checks) is declared in ./options.ts
export { DEFAULT_DATA_OPTIONS, type DataOptions } from "./options.js";

export type Role = "prompter" | "assistant";

export interface Turn {
  role: Role;
  text: string;
}

/** A conversation to render with the chat template, or a row that is already tokenized. */
export type Example =
  | { kind: "conversation"; turns: Turn[]; /** system text, before the turns (chat rows) */ system?: string }
  | { kind: "tokens"; inputIds: number[]; labels: number[]; attentionMask?: number[] };

export type DataFormat = "oasst-messages" | "oasst-trees" | "guanaco" | "chat-messages" | "tokenized";

export interface ReadCounts {
  /** JSON rows read (lines of a .jsonl file, elements of a .json array). */
  rows: number;
  /** Examples produced (conversations, or tokenized rows kept). */
  conversations: number;
  /**
   * What was left out, by reason. OASST forms count messages (`deleted`, `synthetic`, `failed_review`, `language`,
   * `empty_text`, `orphan`, `duplicate_id`, `root_not_prompter`, `below_skipped` for the replies under a skipped one)
   * and trees (`no_reply`); guanaco, chat and tokenized forms count rows (chat: also `unsupported_role`,
   * `not_alternating`).
   */
  skipped: Record<string, number>;
}

export interface ReadResult {
  format: DataFormat;
  examples: Example[];
  counts: ReadCounts;
}

/** Count one more skip for `reason`. */
export function skip(skipped: Record<string, number>, reason: string, n = 1): void {
  skipped[reason] = (skipped[reason] ?? 0) + n;
}
