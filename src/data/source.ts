import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import type { Readable } from "node:stream";
import { UserError } from "../model/errors.js";
import { DEFAULT_READ_LIMITS, formatBytes, splitLines, type ReadLimits } from "./lines.js";
import { readParquetRows } from "./parquet.js";
import { skip, type Example } from "./types.js";

/** One JSON value of a data file, with where it came from for error messages ("data.jsonl line 7"). */
export interface Row {
  value: unknown;
  where: string;
}

async function checkFile(file: string): Promise<void> {
  const info = await stat(file).catch(() => null);
  if (!info) throw new UserError(`data file ${file} does not exist`);
  if (!info.isFile()) throw new UserError(`data file ${file} is not a file`);
  if (info.size === 0) throw new UserError(`data file ${file} is empty`);
}

function openText(file: string): Readable {
  const raw = createReadStream(file);
  if (!file.endsWith(".gz")) return raw;
  const gunzip = createGunzip();
  raw.on("error", (err) => gunzip.destroy(err));
  return raw.pipe(gunzip);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${where}: malformed JSON (${(err as Error).message})`);
  }
}

/**
 * Split a JSON array into its elements by scanning brackets and strings, so a malformed element is reported at its
 * own line (V8's JSON.parse messages do not always say where).
 */
function* arrayElements(file: string, text: string, firstLine: number): Generator<{ json: string; line: number }> {
  let line = firstLine;
  let i = text.indexOf("[") + 1;
  let depth = 0;
  let inString = false;
  let start = -1;
  let startLine = line;
  let closed = false;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") line++;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (start < 0 && /\s/.test(c)) continue;
    if (start < 0 && c === "]") {
      closed = true;
      break;
    }
    if (start < 0) {
      start = i;
      startLine = line;
    }
    if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || (c === "]" && depth > 0)) depth--;
    else if (depth === 0 && (c === "," || c === "]")) {
      yield { json: text.slice(start, i), line: startLine };
      start = -1;
      closed = c === "]";
      if (closed) break;
    }
  }
  if (start >= 0 || !closed || text.slice(i + 1).trim() !== "") {
    throw new UserError(`${file} line ${start >= 0 ? startLine : line}: malformed JSON array`);
  }
}

/**
 * Stream the rows of a data file: JSON Lines (one object a line, read line by line so large files are fine) or one
 * JSON array; either may be gzipped (`.gz`); or Parquet (`.parquet`, parquet.ts). Blank lines are ignored; a line that is not JSON is a UserError naming it.
 * `limits` bound a line, an array file and a gzip file's decompressed size (DEFAULT_READ_LIMITS).
 */
export async function* readRows(file: string, limits: ReadLimits = DEFAULT_READ_LIMITS): AsyncGenerator<Row> {
  await checkFile(file);
  if (file.endsWith(".parquet")) return yield* readParquetRows(file);
  const input = openText(file);
  const gzip = file.endsWith(".gz");
  const lines = splitLines(input, file, {
    maxLineBytes: limits.maxLineBytes,
    maxTotalBytes: gzip ? limits.maxDecompressedBytes : Infinity,
    tooMuch: `decompresses to more than ${formatBytes(limits.maxDecompressedBytes)}, the limit for a gzip data file`,
  });
  let lineNo = 0;
  let arrayStart = 0;
  let arrayBytes = 0;
  const arrayLines: string[] = [];
  let any = false;
  try {
    for await (const rawLine of lines) {
      lineNo++;
      const line = lineNo === 1 ? rawLine.replace(/^\uFEFF/, "") : rawLine;
      if (arrayStart > 0) {
        arrayBytes += Buffer.byteLength(line) + 1;
        if (arrayBytes > limits.maxArrayBytes) {
          throw new UserError(
            `${file} line ${lineNo}: a JSON array file is read whole and this one is larger than ` +
              `${formatBytes(limits.maxArrayBytes)}; write it as JSON Lines (one row a line) instead`,
          );
        }
        arrayLines.push(line);
        continue;
      }
      const trimmed = line.trim();
      if (trimmed === "") continue;
      if (!any && trimmed.startsWith("[")) {
        arrayStart = lineNo;
        arrayBytes = Buffer.byteLength(line) + 1;
        arrayLines.push(line);
        continue;
      }
      any = true;
      yield { value: parseJson(trimmed, `${file} line ${lineNo}`), where: `${file} line ${lineNo}` };
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    if ((err as NodeJS.ErrnoException).code?.startsWith("Z_")) throw new UserError(`${file} is not valid gzip data`);
    throw err;
  } finally {
    input.destroy();
  }
  if (arrayStart > 0) {
    for (const el of arrayElements(file, arrayLines.join("\n"), arrayStart)) {
      any = true;
      yield { value: parseJson(el.json, `${file} line ${el.line}`), where: `${file} line ${el.line}` };
    }
    if (!any) throw new UserError(`data file ${file} is empty (an empty JSON array)`);
    return;
  }
  if (!any) throw new UserError(`data file ${file} is empty (no rows)`);
}

/**
 * Turn rows into examples one at a time (the forms where each row is one example): `convert` returns the example,
 * or the reason the row is skipped, which is counted in `skipped`.
 */
export async function collectRows(
  rows: AsyncIterable<Row>,
  skipped: Record<string, number>,
  convert: (row: Row) => Example | string,
): Promise<{ examples: Example[]; rows: number }> {
  const examples: Example[] = [];
  let count = 0;
  for await (const row of rows) {
    count++;
    const example = convert(row);
    if (typeof example === "string") skip(skipped, example);
    else examples.push(example);
  }
  return { examples, rows: count };
}
