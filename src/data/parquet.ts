import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type FileMetaData } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { UserError } from "../model/errors.js";
import type { Row } from "./source.js";

// The columns each row form needs, and the columns that say a file means to be that form: a Parquet file declares
// its columns up front, so a missing one is named before any row is read (a JSON row would fail on its first row).
const FORMS = [
  { name: "OASST message rows", markers: ["message_id", "parent_id", "message_tree_id", "role"], required: ["message_id", "parent_id", "role", "text"] },
  { name: "tokenized rows", markers: ["input_ids", "labels"], required: ["input_ids"] },
  { name: "guanaco text rows", markers: ["text"], required: ["text"] },
] as const;

/** Check that the top-level columns hold one row form completely; names the first missing column. */
export function checkParquetColumns(file: string, columns: readonly string[]): void {
  const form = FORMS.find((f) => f.markers.some((m) => columns.includes(m)));
  if (!form) {
    throw new UserError(
      `${file}: no known columns (it has ${columns.join(", ") || "none"}); expected OASST message rows ` +
        `(message_id, parent_id, role, text), guanaco text rows (text) or tokenized rows (input_ids, labels)`,
    );
  }
  const missing = form.required.find((c) => !columns.includes(c));
  if (missing) {
    throw new UserError(`${file}: column "${missing}" is missing; ${form.name} need ${form.required.join(", ")} (it has ${columns.join(", ")})`);
  }
}

/** Parquet INT64 columns come back as BigInt: JSON rows would have held numbers (rank, review_count, token ids). */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object" && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

async function readMetadata(file: string): Promise<{ buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>; metadata: FileMetaData }> {
  const buffer = await asyncBufferFromFile(file);
  try {
    return { buffer, metadata: await parquetMetadataAsync(buffer) };
  } catch (err) {
    throw new UserError(`${file} is not a valid Parquet file (${(err as Error).message})`);
  }
}

/**
 * Stream the rows of a Parquet file (the format HF datasets serve) as objects keyed by column, one row group at a
 * time, so that a large file is never decoded whole. Compressed with any codec Parquet writers use (snappy, gzip,
 * zstd, brotli, lz4).
 */
export async function* readParquetRows(file: string): AsyncGenerator<Row> {
  const { buffer, metadata } = await readMetadata(file);
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  checkParquetColumns(file, columns);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, compressors, rowStart, rowEnd });
    } catch (err) {
      throw new UserError(`${file} rows ${rowStart + 1}-${rowEnd}: unreadable Parquet data (${(err as Error).message})`);
    }
    for (let i = 0; i < rows.length; i++) yield { value: plain(rows[i]), where: `${file} row ${rowStart + i + 1}` };
    rowStart = rowEnd;
  }
  if (rowStart === 0) throw new UserError(`data file ${file} is empty (no rows)`);
}
