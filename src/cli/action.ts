import { isUserError } from "../model/errors.js";
import { cliFieldName } from "./fields.js";

/**
 * Wrap a command's action: a user mistake prints one line (`tunegraph: <message>`, its fields named by their flags) and exits 1;
 * anything else is a bug and keeps its stack trace.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (isUserError(err)) {
        process.stderr.write(`tunegraph: ${err.render(cliFieldName)}\n`);
        process.exit(1);
      }
      throw err;
    }
  };
}

/** Parse a number flag, naming the flag when it is not one. */
export function num(flag: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) {
      process.stderr.write(`tunegraph: ${flag} must be a number, got "${v}"\n`);
      process.exit(1);
    }
    return n;
  };
}
