import path from "node:path";
import { Command, CommanderError } from "commander";
import { vi } from "vitest";
import { packageRoot } from "../../src/db/package-root.js";

/** What one in-process `tunegraph` run printed, and the code it exited with (null when it returned normally). */
export interface CliResult {
  out: string;
  err: string;
  code: number | null;
}

/** Thrown by the stubbed `process.exit` so that the command stops where the real one would have ended the process. */
class Exit extends Error {
  constructor(readonly code: number) {
    super("exit");
  }
}

/**
 * A function that runs `tunegraph <args>` in-process with the given subcommands registered, capturing stdout and
 * stderr and turning `process.exit(code)` into a result instead of ending the test process.
 */
export function cliRunner(...registers: ((program: Command) => void)[]): (args: string[]) => Promise<CliResult> {
  return async (args) => {
    let out = "", err = "", code: number | null = null;
    const spies = [
      vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true)),
      vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true)),
      vi.spyOn(process, "exit").mockImplementation((c) => {
        throw new Exit(Number(c ?? 0));
      }),
    ];
    const program = new Command("tunegraph").exitOverride();
    for (const register of registers) register(program);
    try {
      await program.parseAsync(["node", "tunegraph", ...args]);
    } catch (e) {
      if (e instanceof Exit) code = e.code;
      else if (e instanceof CommanderError) code = e.exitCode;
      else throw e;
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    return { out, err, code };
  };
}

/** The compiled CLI (`bin/tunegraph.js` runs dist/, built by tests/global-setup.ts): for tests that need a real process. */
export function builtCli(): string {
  return path.join(packageRoot(), "bin", "tunegraph.js");
}
