import { UserError } from "../model/errors.js";
import { collectRows, type Row } from "./source.js";
import type { Example, Turn } from "./types.js";

const ROLES: Record<string, Turn["role"] | "system"> = { system: "system", user: "prompter", assistant: "assistant" };

/** One chat row as a conversation (its system text kept beside the turns), or the reason it is skipped. */
function chatExample(row: Row): Example | string {
  const v = row.value as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null || !Array.isArray(v.messages)) {
    throw new UserError(`${row.where}: expected {"messages": [{"role": "user", "content": "..."}, ...]}`);
  }
  const system: string[] = [];
  const turns: Turn[] = [];
  for (const [i, m] of (v.messages as unknown[]).entries()) {
    const { role, content } = (typeof m === "object" && m !== null ? m : {}) as { role?: unknown; content?: unknown };
    if (typeof role !== "string" || typeof content !== "string") {
      throw new UserError(`${row.where}: messages[${i}] must be {"role": "system" | "user" | "assistant", "content": "<text>"}`);
    }
    const ours = ROLES[role];
    if (!ours) return "unsupported_role";
    if (content.trim() === "") return "empty_text";
    if (ours === "system") system.push(content.trim());
    else turns.push({ role: ours, text: content.trim() });
  }
  if (turns.length === 0 || turns[0]!.role !== "prompter") return "root_not_prompter";
  if (turns.some((t, i) => i > 0 && t.role === turns[i - 1]!.role)) return "not_alternating";
  // ends with an assistant turn, like the other forms; an unanswered last prompt is dropped
  if (turns.at(-1)!.role === "prompter") turns.pop();
  if (turns.length === 0) return "no_reply";
  return system.length > 0 ? { kind: "conversation", turns, system: system.join("\n") } : { kind: "conversation", turns };
}

/**
 * Chat rows, `{"messages": [{"role": "system" | "user" | "assistant", "content": "..."}, ...]}`: OpenAI's fine-tuning
 * format and TRL's conversational format. System messages go before the turns as the serving template puts them;
 * other roles (tool, function), empty messages, rows that do not start with a user turn or do not alternate are
 * skipped and counted by reason.
 */
export function readChatRows(rows: AsyncIterable<Row>, skipped: Record<string, number>): Promise<{ examples: Example[]; rows: number }> {
  return collectRows(rows, skipped, chatExample);
}
