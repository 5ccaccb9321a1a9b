import { UserError } from "../model/errors.js";

/**
 * Bounds on what one data file may hold, so that a hostile or mistaken file is a clear error instead of a crash: V8
 * cannot hold a string over ~512 MB, so an unbounded line (a gzip bomb of zeros, a huge file without newlines) used to
 * kill the process with `RangeError: Invalid string length`.
 */
export interface ReadLimits {
  /** bytes in one line of a JSON Lines file (its row) */
  maxLineBytes: number;
  /** bytes of a JSON array file, which is read whole */
  maxArrayBytes: number;
  /** bytes a `.gz` file may decompress to */
  maxDecompressedBytes: number;
}

const MiB = 2 ** 20;

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxLineBytes: 64 * MiB,
  maxArrayBytes: 256 * MiB,
  maxDecompressedBytes: 16 * 1024 * MiB,
};

export function formatBytes(n: number): string {
  return n >= 1024 * MiB ? `${n / (1024 * MiB)} GiB` : n >= MiB ? `${n / MiB} MiB` : `${n} bytes`;
}

/**
 * Split a byte stream into lines (LF or CRLF), decoding each as UTF-8 once it is whole. A line longer than
 * `maxLineBytes` is a UserError naming the file and line, raised before the line is held in full.
 */
export async function* splitLines(
  chunks: AsyncIterable<Buffer>,
  file: string,
  limits: { maxLineBytes: number; maxTotalBytes: number; tooMuch: string },
): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let total = 0;
  let lineNo = 1;
  const checkLine = (bytes: number): void => {
    if (bytes > limits.maxLineBytes) {
      throw new UserError(
        `${file} line ${lineNo}: the line is longer than ${formatBytes(limits.maxLineBytes)}, the limit for one row ` +
          `(is this a JSON Lines file?)`,
      );
    }
  };
  const take = (last: Buffer): string => {
    const bytes = pending.length === 0 ? last : Buffer.concat([...pending, last]);
    pending = [];
    pendingBytes = 0;
    lineNo++;
    const text = bytes.toString("utf8");
    return text.endsWith("\r") ? text.slice(0, -1) : text;
  };
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > limits.maxTotalBytes) throw new UserError(`${file}: ${limits.tooMuch}`);
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      checkLine(pendingBytes + nl - start);
      yield take(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      checkLine(pendingBytes);
      pending.push(chunk.subarray(start));
    }
  }
  if (pendingBytes > 0) yield take(Buffer.alloc(0));
}
