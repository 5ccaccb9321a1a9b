import { realpath } from "node:fs/promises";
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
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => path.resolve(root));
    const rel = path.relative(realRoot, real);
    if (rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel))) return real;
  }
  throw new UserError(`${field}: ${input} is outside the allowed roots (${roots.join(", ")})`);
}
