import { describe, expect, it } from "vitest";
import { fromThreadError, runJob, Thread, toThreadError } from "../../../src/backends/thread-bridge.js";
import { UserError } from "../../../src/model/errors.js";
import type { FixtureJob } from "./fixtures/job-thread.js";

const fixture = new URL("./fixtures/job-thread.ts", import.meta.url);
const run = (job: FixtureJob, opts: { onEvent?: (e: number) => void; signal?: AbortSignal; value?: unknown } = {}) =>
  runJob<unknown, number>(fixture, { job, value: opts.value }, { name: "test thread", ...opts });

describe("thread bridge", () => {
  it("returns what the job returns", async () => {
    expect(await run("echo", { value: { a: [1, 2], b: "x" } })).toEqual({ a: [1, 2], b: "x" });
  });

  it("a UserError thrown in the thread arrives as a UserError with its message, code and field", async () => {
    const err = await run("user-error").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ name: "UserError", message: "loggingSteps must be a positive integer", code: "CONFLICT", field: "loggingSteps" });
  });

  it("any other error arrives as an internal error with its name, message and the thread's stack", async () => {
    const err = (await run("bug").catch((e: unknown) => e)) as Error;
    expect(err).not.toBeInstanceOf(UserError);
    expect(err).toMatchObject({ name: "TypeError", message: "cannot read properties of undefined" });
    expect(err.stack).toMatch(/job-thread\.ts/);
  });

  it("a thread that exits rejects the pending job with a clear error instead of hanging", async () => {
    await expect(run("exit")).rejects.toThrow(/^test thread exited with code 3 before finishing$/);
  });

  it("a thread that crashes outside the job rejects it with the crash", async () => {
    await expect(run("uncaught")).rejects.toThrow(/^test thread crashed: thrown outside the job before finishing$/);
  });

  it("streams events in order and passes the abort signal to the job", async () => {
    const abort = new AbortController();
    const events: number[] = [];
    const result = await run("events-until-abort", { signal: abort.signal, onEvent: (e) => {
      events.push(e);
      if (e === 3) abort.abort();
    } });
    expect(events).toEqual([1, 2, 3]);
    expect(result).toBe("stopped");
  });

  it("a failing event consumer ends the job with its error", async () => {
    await expect(run("events-until-abort", { onEvent: () => { throw new Error("consumer failed"); } })).rejects.toThrow("consumer failed");
  });

  it("a long-lived thread settles `gone` with why it ended", async () => {
    const thread = new Thread<never, unknown>(fixture, { job: "exit" }, "serving thread");
    expect((await thread.gone).message).toBe("serving thread exited with code 3");
  });

  it("carries every own property, and values that cannot be cloned as their text", () => {
    const e = Object.assign(new UserError("bad"), { field: "r", path: ["input", "r"], hook: () => 1 });
    const back = fromThreadError(structuredClone(toThreadError(e)));
    expect(back).toBeInstanceOf(UserError);
    expect(back).toMatchObject({ message: "bad", code: "BAD_USER_INPUT", field: "r", path: ["input", "r"], hook: "() => 1" });
    expect(fromThreadError(toThreadError("a string"))).toMatchObject({ message: "a string", name: "Error" });
  });
});
