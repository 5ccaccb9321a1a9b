import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "./errors.js";

/** An output directory must be new or empty: never write over what is already there. Says whether it existed. */
export async function assertEmptyDir(dir: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    if (code === "ENOTDIR") throw new UserError(`${dir}: exists and is not a directory`, "CONFLICT");
    throw e;
  }
  if (entries.length > 0) throw new UserError(`${dir}: output directory is not empty (${entries.length} entries); choose a new or empty one`, "CONFLICT");
  return true;
}

/**
 * Run `write` into a new or empty `dir`; when it fails, remove what it wrote (the directory too, if it was new) so
 * that a retry with the same directory is not refused as "not empty".
 */
export async function writeIntoEmptyDir<T>(dir: string, write: () => Promise<T>): Promise<T> {
  const existed = await assertEmptyDir(dir);
  try {
    return await write();
  } catch (err) {
    await removeOutput(dir, existed).catch(() => undefined); // keep the original error
    throw err;
  }
}

/** Undo a write into `dir`: its entries, and `dir` itself unless it was there before. */
export async function removeOutput(dir: string, keepDir: boolean): Promise<void> {
  if (!keepDir) return rm(dir, { recursive: true, force: true });
  for (const entry of await readdir(dir)) await rm(join(dir, entry), { recursive: true, force: true });
}
