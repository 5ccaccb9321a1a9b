import { UserError } from "../model/errors.js";
import { detectFormat } from "./detect.js";
import { readChatRows } from "./chat-messages.js";
import { readGuanacoRows } from "./guanaco.js";
import { readMessageRows } from "./oasst-messages.js";
import { readTreeRows } from "./oasst-trees.js";
import { readRows, type Row } from "./source.js";
import { readTokenizedRows } from "./tokenized.js";
import { validateDataOptions, type DataOptions } from "./options.js";
import type { ReadResult } from "./types.js";

function describeFilters(opts: DataOptions): string {
  const parts = [
    opts.languages.length > 0 ? `languages ${opts.languages.join(",")}` : "all languages",
    opts.includeDeleted ? "deleted included" : "deleted excluded",
    opts.includeSynthetic ? "synthetic included" : "synthetic excluded",
    opts.includeFailedReview ? "failed review included" : "failed review excluded",
  ];
  return parts.join(", ");
}

async function* prepend(first: Row, rest: AsyncGenerator<Row>): AsyncGenerator<Row> {
  yield first;
  yield* rest;
}

/**
 * Read a conversation file in any of the five forms (auto-detected from its first row): OASST message rows,
 * exported OASST trees, guanaco text rows, chat rows (`messages`), tokenized rows. Counts what was read and what was skipped, and why.
 */
export async function readConversations(file: string, options: Partial<DataOptions> = {}): Promise<ReadResult> {
  const opts = validateDataOptions(options);
  const rows = readRows(file);
  const first = await rows.next();
  if (first.done) throw new UserError(`data file ${file} is empty`);
  const format = detectFormat(first.value.value, first.value.where);
  const all = prepend(first.value, rows);
  const skipped: Record<string, number> = {};
  const read =
    format === "oasst-messages" ? await readMessageRows(all, opts, skipped)
    : format === "oasst-trees" ? await readTreeRows(all, opts, skipped)
    : format === "guanaco" ? await readGuanacoRows(all, skipped)
    : format === "chat-messages" ? await readChatRows(all, skipped)
    : await readTokenizedRows(all, skipped);
  if (read.examples.length === 0) {
    const why = Object.entries(skipped).map(([k, n]) => `${k} ${n}`).join(", ") || "nothing usable";
    const filters = format === "oasst-messages" || format === "oasst-trees" ? `; filters: ${describeFilters(opts)}` : "";
    throw new UserError(`no conversations in ${file} (${format}, ${read.rows} rows) after filtering: skipped ${why}${filters}`);
  }
  return { format, examples: read.examples, counts: { rows: read.rows, conversations: read.examples.length, skipped } };
}
