import { readdir } from "node:fs/promises";
import { UserError } from "./errors.js";

/** An output directory must be new or empty: never write over what is already there. */
export async function assertEmptyDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR") throw new UserError(`${dir}: exists and is not a directory`, "CONFLICT");
    throw e;
  }
  if (entries.length > 0) throw new UserError(`${dir}: output directory is not empty (${entries.length} entries); choose a new or empty one`, "CONFLICT");
}
