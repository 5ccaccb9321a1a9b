import { UserError } from "../model/errors.js";
import { ASSISTANT_MARKER, HUMAN_MARKER } from "../model/chat-template.js";
import { collectRows, type Row } from "./source.js";
import type { Example, Turn } from "./types.js";

const MARKER = /### (Human|Assistant):/g;

/** Split `### Human: ...### Assistant: ...` text into turns; null when it does not start with a marker. */
export function splitGuanaco(text: string): Turn[] | null {
  const marks = [...text.matchAll(MARKER)];
  if (marks.length === 0 || text.slice(0, marks[0].index).trim() !== "") return null;
  return marks.map((m, i) => ({
    role: m[0] === HUMAN_MARKER ? "prompter" : "assistant",
    text: text.slice(m.index + m[0].length, i + 1 < marks.length ? marks[i + 1].index : text.length).trim(),
  }));
}

/** One guanaco text row as a conversation, or the reason it is skipped. */
function guanacoExample(row: Row): Example | string {
  const v = row.value as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null || typeof v.text !== "string") {
    throw new UserError(`${row.where}: expected {"text": "${HUMAN_MARKER} ...${ASSISTANT_MARKER} ..."}`);
  }
  const turns = splitGuanaco(v.text);
  if (!turns) return "no_markers";
  if (turns[0].role !== "prompter") return "root_not_prompter";
  // ends with an assistant turn, like the other forms; an unanswered last prompt is dropped
  if (turns[turns.length - 1].role === "prompter") turns.pop();
  if (turns.length === 0) return "no_reply";
  if (turns.some((t) => t.text === "")) return "empty_text";
  return { kind: "conversation", turns };
}

/** Guanaco text rows (`{"text": "### Human: ...### Assistant: ..."}`, timdettmers/openassistant-guanaco). */
export function readGuanacoRows(rows: AsyncIterable<Row>, skipped: Record<string, number>): Promise<{ examples: Example[]; rows: number }> {
  return collectRows(rows, skipped, guanacoExample);
}
