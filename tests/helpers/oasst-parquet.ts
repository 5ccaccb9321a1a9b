import { parquetWriteBuffer } from "hyparquet-writer";

type Msg = Record<string, unknown>;

// OASST1's flat columns with the types `datasets` gives them in the Parquet files the Hub serves
// (the nested detoxify / emojis / labels columns are left out: no reader uses them)
const COLUMNS = [
  ["message_id", "STRING"],
  ["parent_id", "STRING"],
  ["user_id", "STRING"],
  ["created_date", "STRING"],
  ["text", "STRING"],
  ["role", "STRING"],
  ["lang", "STRING"],
  ["review_count", "INT32"],
  ["review_result", "BOOLEAN"],
  ["deleted", "BOOLEAN"],
  ["rank", "DOUBLE"],
  ["synthetic", "BOOLEAN"],
  ["model_name", "STRING"],
  ["message_tree_id", "STRING"],
  ["tree_state", "STRING"],
] as const;

/** OASST message rows as a Parquet file (snappy, in row groups of `rowGroupSize`); `drop` leaves columns out. */
export function oasstParquet(rows: Msg[], opts: { drop?: string[]; rowGroupSize?: number } = {}): Buffer {
  const columnData = COLUMNS.filter(([name]) => !opts.drop?.includes(name)).map(([name, type]) => ({
    name,
    type,
    data: rows.map((r) => (r[name] === undefined ? null : r[name])) as never[],
  }));
  return Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize: opts.rowGroupSize ?? 1000 }));
}
