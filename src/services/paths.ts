import { readdir, realpath } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../model/errors.js";

/**
 * Resolve a path a client sent (relative paths against the first root) to its real location, which must exist and lie
 * inside one of `roots` after every symlink is followed: `..` and symlinks out of the roots are refused.
 */
export async function resolveInsideRoots(input: string, roots: string[], field: string): Promise<string> {
  if (typeof input !== "string" || input.trim() === "" || input.includes("\0")) {
    throw new UserError(`${field} must be a non-empty path`);
  }
  const candidate = path.resolve(roots[0]!, input);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    throw new UserError(`${field}: ${input} does not exist`, "NOT_FOUND");
  }
  if (await isInside(real, roots)) return real;
  throw new UserError(`${field}: ${input} is outside the allowed roots (${roots.join(", ")})`);
}

/**
 * A model, adapter or checkpoint directory is read by file name (config.json, weights and their shards, tokenizer and
 * adapter files): every entry of it, after symlinks are followed, must lie inside `roots` too, or a link in a
 * directory inside the roots would serve a file from anywhere. What is not a directory is left to the reader.
 */
export async function assertEntriesInsideRoots(dir: string, roots: string[]): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  await assertFilesInsideRoots(entries.map((e) => path.join(dir, e)), roots);
}

/** Each file, after symlinks are followed, lies inside `roots`; a dangling link is left to the reader to report. */
export async function assertFilesInsideRoots(files: string[], roots: string[]): Promise<void> {
  for (const file of files) {
    const real = await realpath(file).catch(() => null);
    if (real !== null && !(await isInside(real, roots))) {
      throw new UserError(`${file} links to a file outside the allowed roots (${roots.join(", ")})`);
    }
  }
}

async function isInside(real: string, roots: string[]): Promise<boolean> {
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => path.resolve(root));
    const rel = path.relative(realRoot, real);
    if (rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))) return true;
  }
  return false;
}

/**
 * Before a job reads what was registered (links may have changed since): the directories' entries and the files lie
 * inside the roots or the data directory (where initModel, the demo and training write).
 */
export async function confineJobInputs(config: { roots: string[]; dataDir: string }, dirs: string[], files: string[] = []): Promise<void> {
  const readable = [...config.roots, config.dataDir];
  for (const dir of dirs) await assertEntriesInsideRoots(dir, readable);
  await assertFilesInsideRoots(files, readable);
}
