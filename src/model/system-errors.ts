import { isUserError, UserError } from "./errors.js";

/** What the machine refused, in words; these are fixed by the user (another path, free space, a running server). */
const REASONS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  EEXIST: "already exists",
  ENAMETOOLONG: "name too long",
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EHOSTUNREACH: "host unreachable",
  ETIMEDOUT: "timed out",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this machine",
};

type SystemError = NodeJS.ErrnoException & { address?: string; port?: number };

/**
 * A failed file or network call (Node's errno errors: full disk, no permission, a read-only or odd file system, a
 * refused connection) as a UserError of one line naming the path or address; anything else is returned as it is.
 */
export function asUserError(err: unknown): unknown {
  if (isUserError(err) || typeof err !== "object" || err === null) return err;
  const e = err as SystemError;
  const reason = typeof e.code === "string" ? REASONS[e.code] : undefined;
  if (reason === undefined) return err;
  const where = e.path ?? (e.address !== undefined ? `${e.address}${e.port !== undefined ? `:${e.port}` : ""}` : undefined);
  const what = e.code === "EEXIST" && e.syscall === "mkdir" ? "exists and is not a directory" : reason;
  return new UserError(`${where !== undefined ? `${where}: ` : ""}${what} (${e.code}${e.syscall ? ` on ${e.syscall}` : ""})`);
}
