import type { Request } from "express";
import busboy from "busboy";
import type { Readable } from "node:stream";
import { badParam } from "./errors.js";

export interface Multipart<T> {
  fields: Record<string, string>;
  /** what `onFile` made of the one file part, or null when there was none */
  file: T | null;
}

/**
 * Read a multipart/form-data body: text fields, and one file part handed to `onFile` as it streams (never held in
 * memory). A second file, or a field before its name, is a 400.
 */
export function readMultipart<T>(
  req: Request,
  fileField: string,
  onFile: (filename: string, content: Readable) => Promise<T>,
  undo: (made: T) => Promise<unknown>,
): Promise<Multipart<T>> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { files: 1, fields: 20, fieldSize: 10_000, parts: 30 } });
  } catch {
    throw badParam(fileField, `send multipart/form-data with the fields "${fileField}" and "purpose"`, "invalid_content_type");
  }
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: Promise<T> | null = null;
    let refused: Error | null = null;
    parser.on("field", (name, value) => (fields[name] = value));
    parser.on("file", (name, content, info) => {
      if (name !== fileField || file) {
        refused ??= badParam(name, `one file is taken, in the field "${fileField}"; got a file in "${name}"`);
        content.resume();
        return;
      }
      file = onFile(info.filename || "upload.jsonl", content);
      file.catch(() => undefined); // awaited at the end
    });
    parser.on("filesLimit", () => (refused ??= badParam(fileField, "send one file per request")));
    // the file is stored while the rest is read: a request refused after all leaves nothing behind
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      const done = file ?? Promise.resolve(null);
      done.then(
        async (made) => {
          if (!refused) return resolve({ fields, file: made });
          if (made !== null) await undo(made).catch(() => undefined);
          reject(refused);
        },
        (err: unknown) => reject(refused ?? err),
      );
    };
    parser.on("error", (err: Error) => {
      refused ??= badParam(fileField, `malformed multipart body: ${err.message}`);
      req.unpipe(parser);
      req.resume();
      finish();
    });
    parser.on("close", finish);
    // a client gone mid-upload: the parser fails, which ends the file stream, whose partial file is removed
    req.on("close", () => {
      if (!req.complete) parser.destroy(new Error("the client closed the connection during the upload"));
    });
    req.pipe(parser);
  });
}
