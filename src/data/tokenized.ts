import { UserError } from "../model/errors.js";
import { collectRows, type Row } from "./source.js";
import type { Example } from "./types.js";

function intArray(v: unknown, name: string, where: string, min: number): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= min)) {
    throw new UserError(`${where}: field "${name}" must be an array of integers${min === 0 ? " >= 0" : ""}`);
  }
  return v as number[];
}

/** One tokenized row as it is, or the reason it is skipped. */
function tokenizedExample(row: Row): Example | string {
  const v = row.value as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null) throw new UserError(`${row.where}: expected {"input_ids": [...], "labels": [...]}`);
  const inputIds = intArray(v.input_ids, "input_ids", row.where, 0);
  const labels = v.labels === undefined ? [...inputIds] : intArray(v.labels, "labels", row.where, -100);
  if (labels.length !== inputIds.length) {
    throw new UserError(`${row.where}: "labels" has ${labels.length} entries but "input_ids" has ${inputIds.length}`);
  }
  if (labels.some((l) => l < 0 && l !== -100)) throw new UserError(`${row.where}: a negative label other than -100`);
  let attentionMask: number[] | undefined;
  if (v.attention_mask !== undefined) {
    attentionMask = intArray(v.attention_mask, "attention_mask", row.where, 0);
    if (attentionMask.length !== inputIds.length || attentionMask.some((m) => m > 1)) {
      throw new UserError(`${row.where}: "attention_mask" must hold ${inputIds.length} zeros and ones`);
    }
  }
  if (inputIds.length === 0) return "empty";
  return attentionMask ? { kind: "tokens", inputIds, labels, attentionMask } : { kind: "tokens", inputIds, labels };
}

/**
 * Tokenized rows `{"input_ids": [...], "labels": [...], "attention_mask": [...]}`, used as they are: label -100 is
 * not trained on; without `labels` every token is; `attention_mask` is optional.
 */
export function readTokenizedRows(rows: AsyncIterable<Row>, skipped: Record<string, number>): Promise<{ examples: Example[]; rows: number }> {
  return collectRows(rows, skipped, tokenizedExample);
}
