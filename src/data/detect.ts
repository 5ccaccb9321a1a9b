import { UserError } from "../model/errors.js";
import type { DataFormat } from "./types.js";

/** Tell the form of a data file from its first row. */
export function detectFormat(value: unknown, where: string): DataFormat {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const row = value as Record<string, unknown>;
    if ("input_ids" in row) return "tokenized";
    if (typeof row.prompt === "object" && row.prompt !== null) return "oasst-trees";
    if ("message_id" in row && "role" in row) return "oasst-messages";
    if (typeof row.text === "string") return "guanaco";
    if (Array.isArray(row.messages)) return "chat-messages";
  }
  throw new UserError(
    `${where}: unknown data format; expected OASST message rows (message_id, parent_id, role, text), ` +
      `exported trees (message_tree_id, prompt), guanaco text rows (text), chat rows (messages: [{role, content}]) or tokenized rows (input_ids, labels)`,
  );
}
