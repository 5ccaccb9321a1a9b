/**
 * Worker threads, one way for every backend (training, export, serving): spawn a thread file with typed messages both
 * ways, errors that cross keeping their class (UserError or not) and properties, and a thread that dies failing
 * whatever waits on it with an error that says so, instead of leaving it hanging.
 */
import { parentPort, Worker, workerData } from "node:worker_threads";
import { isUserError, UserError } from "../model/errors.js";
import { asUserError } from "../model/system-errors.js";

/** An error as it crosses threads; structured clone alone would drop its class and its own properties. */
export interface ThreadError {
  userError: boolean;
  name: string;
  message: string;
  stack?: string;
  /** Every own enumerable property of the error (a UserError's `code`, `field`, ...). */
  props: Record<string, unknown>;
}

export function toThreadError(thrown: unknown): ThreadError {
  const e = asUserError(thrown); // a full disk or a refused directory, said in words where its errno is known
  if (!(e instanceof Error)) return { userError: false, name: "Error", message: String(e), props: {} };
  const props: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(e)) {
    try {
      props[key] = structuredClone(value);
    } catch {
      props[key] = String(value); // a function or a handle: its text is all that can cross
    }
  }
  return { userError: isUserError(e), name: e.name, message: e.message, stack: e.stack, props };
}

export function fromThreadError(e: ThreadError): Error {
  // only the message goes to the constructor: the properties follow, whatever else it takes
  const err = e.userError ? new UserError(e.message) : new Error(e.message);
  Object.assign(err, e.props);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

/** `file` ("./worker") beside `base` (the caller's import.meta.url): compiled .js, or .ts through jiti's loader (tests, dev). */
export function threadFile(base: string, file: string): URL {
  return new URL(`${file}${base.endsWith(".ts") ? ".ts" : ".js"}`, base);
}

/** A thread seen from the one that started it: `In` is what it is sent, `Out` what it posts back. */
export class Thread<In, Out> {
  /** Settles once the thread has ended (crashed, exited or terminated), with why, for whatever still waits on it. */
  readonly gone: Promise<Error>;
  private receive: (m: Out) => void = () => undefined;
  private readonly worker: Worker;

  constructor(url: URL, data: unknown, readonly name: string) {
    const fromSource = url.pathname.endsWith(".ts");
    this.worker = new Worker(url, { workerData: data, execArgv: fromSource ? ["--import", "jiti/register"] : [] });
    this.worker.on("message", (m: Out) => this.receive(m));
    this.gone = new Promise((resolve) => {
      this.worker.once("error", (e) => resolve(new Error(`${name} crashed: ${e.message}`, { cause: e })));
      this.worker.once("exit", (code) => resolve(new Error(`${name} exited with code ${code}`)));
    });
  }

  /** The one listener for what the thread posts (a later call replaces it). */
  onMessage(fn: (m: Out) => void): void {
    this.receive = fn;
  }

  post(m: In): void {
    this.worker.postMessage(m);
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** The other side, inside the thread: its workerData and typed messages to and from the thread that started it. */
export function parentThread<In, Out>(): { data: unknown; post(m: Out): void; onMessage(fn: (m: In) => void): void; close(): void } {
  const port = parentPort;
  if (!port) throw new Error("parentThread() called outside a worker thread");
  return {
    data: workerData,
    post: (m) => port.postMessage(m),
    onMessage: (fn) => port.on("message", fn),
    close: () => port.close(),
  };
}

type JobIn = { type: "abort" };
type JobOut<R, E> = { type: "event"; event: E } | { type: "done"; result: R } | { type: "failed"; error: ThreadError };

export interface JobOptions<E> {
  /** Names the thread in errors: "training thread". */
  name: string;
  /** Each event the job emits; a throw here ends the job with that error. */
  onEvent?: (e: E) => void;
  /** Tells the job to stop (its own signal aborts); the job decides what it returns then. */
  signal?: AbortSignal;
}

/** Run the job thread at `url` (written with `jobThread`) on `data`; its result, or its error as it threw it. */
export async function runJob<R, E = never>(url: URL, data: unknown, opts: JobOptions<E>): Promise<R> {
  const thread = new Thread<JobIn, JobOut<R, E>>(url, data, opts.name);
  const abort = () => thread.post({ type: "abort" });
  if (opts.signal?.aborted) abort();
  else opts.signal?.addEventListener("abort", abort, { once: true });
  try {
    return await new Promise<R>((resolve, reject) => {
      thread.onMessage((m) => {
        if (m.type === "done") return resolve(m.result);
        if (m.type === "failed") return reject(fromThreadError(m.error));
        try {
          opts.onEvent?.(m.event);
        } catch (e) {
          reject(e);
        }
      });
      void thread.gone.then((e) => reject(new Error(`${e.message} before finishing`, { cause: e.cause })));
    });
  } finally {
    opts.signal?.removeEventListener("abort", abort);
    await thread.terminate();
  }
}

/** The body of a job thread: `run` gets the job's data, a way to emit events and the abort signal of `runJob`. */
export async function jobThread<D, R, E = never>(run: (data: D, emit: (e: E) => void, signal: AbortSignal) => Promise<R>): Promise<void> {
  const parent = parentThread<JobIn, JobOut<R, E>>();
  const abort = new AbortController();
  parent.onMessage((m) => m.type === "abort" && abort.abort());
  try {
    const result = await run(parent.data as D, (event) => parent.post({ type: "event", event }), abort.signal);
    parent.post({ type: "done", result });
  } catch (e) {
    parent.post({ type: "failed", error: toThreadError(e) });
  } finally {
    parent.close();
  }
}
