import { isUserError } from "../model/errors.js";
import { asUserError } from "../model/system-errors.js";
import { cliFieldName } from "./fields.js";

/**
 * Wrap a command's action: a user mistake (or a refusal of the machine: full disk, no permission, a refused
 * connection) prints one line (`tunegraph: <message>`, its fields named by their flags) and exits 1; anything else
 * is a bug and keeps its stack trace.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (thrown) {
      const err = asUserError(thrown);
      if (isUserError(err)) {
        process.stderr.write(`tunegraph: ${err.render(cliFieldName)}\n`);
        process.exit(1);
      }
      throw err;
    }
  };
}

/** Parse an integer flag in [min, max], naming the flag when it is not one. */
export function int(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
      process.stderr.write(`tunegraph: ${flag} must be an integer from ${min} to ${max}, got "${v}"\n`);
      process.exit(1);
    }
    return n;
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
