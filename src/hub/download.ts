import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../model/errors.js";
import type { RepoFile } from "./select.js";

// a connection that breaks mid-file is resumed from where it stopped, this many times in one pull
const ATTEMPTS = 5;

/** What a file's content must hash to: LFS files by the sha256 the Hub lists, others by their git blob id. */
function expectedDigest(file: RepoFile): { algorithm: "sha256" | "sha1"; digest: string; start(h: Hash): void } {
  if (file.lfs) return { algorithm: "sha256", digest: file.lfs.oid, start: () => undefined };
  return { algorithm: "sha1", digest: file.oid, start: (h) => h.update(`blob ${file.size}\0`) };
}

async function hashInto(hash: Hash, file: string): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

async function sizeOf(file: string): Promise<number | null> {
  return stat(file).then((s) => s.size, () => null);
}

export interface DownloadOptions {
  /** where the Hub's resolve endpoint (or the address it redirects to) serves the file */
  url: string;
  token?: string;
  /** the final path, and where the bytes go until they are complete and verified */
  target: string;
  partial: string;
  onBytes?: (n: number) => void;
  /** a response that sends nothing for this long is dropped (and resumed) */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Download one file of a repo: into `partial`, continuing what an earlier attempt left there (HTTP Range), then
 * checked against the hash the Hub lists and renamed to `target`. A `target` already there with the right content
 * is kept. Returns whether anything was fetched. A checksum mismatch removes the partial file and throws.
 */
export async function downloadRepoFile(file: RepoFile, opts: DownloadOptions): Promise<{ fetched: boolean }> {
  const expected = expectedDigest(file);
  if ((await sizeOf(opts.target)) === file.size && (await digestOf(opts.target, expected)) === expected.digest) return { fetched: false };
  await mkdir(path.dirname(opts.partial), { recursive: true });
  await (await open(opts.partial, "a")).close(); // exists even for an empty file
  let have = (await sizeOf(opts.partial)) ?? 0;
  if (have > file.size) {
    await rm(opts.partial, { force: true });
    have = 0;
  }
  const state = { have, hash: newHash(expected) };
  if (have > 0) await hashInto(state.hash, opts.partial);
  opts.onBytes?.(have);
  for (let attempt = 1; state.have < file.size; attempt++) {
    try {
      await fetchFrom(file, opts, state, expected);
    } catch (err) {
      if (err instanceof UserError || opts.signal?.aborted) throw err;
      if (attempt >= ATTEMPTS) {
        throw new UserError(`${file.path}: the download broke off ${attempt} times, last at byte ${state.have} of ${file.size} (${reason(err)}); pull again to resume`);
      }
    }
  }
  const digest = state.hash.digest("hex");
  if (digest !== expected.digest) {
    await rm(opts.partial, { force: true });
    const what = file.lfs ? "sha256" : "git blob id";
    throw new UserError(`${file.path}: the downloaded content does not match the Hub's checksum (${what} ${digest}, expected ${expected.digest}); the partial file was removed`);
  }
  await mkdir(path.dirname(opts.target), { recursive: true });
  await rename(opts.partial, opts.target);
  return { fetched: true };
}

type Expected = ReturnType<typeof expectedDigest>;

function newHash(expected: Expected): Hash {
  const hash = createHash(expected.algorithm);
  expected.start(hash);
  return hash;
}

async function digestOf(file: string, expected: Expected): Promise<string> {
  const hash = newHash(expected);
  await hashInto(hash, file);
  return hash.digest("hex");
}

/** One request from byte `state.have`, appended to the partial file (and its hash) as the bytes arrive. */
async function fetchFrom(file: RepoFile, opts: DownloadOptions, state: { have: number; hash: Hash }, expected: Expected): Promise<void> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (state.have > 0) headers.Range = `bytes=${state.have}-`;
  const stalled = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const alive = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => stalled.abort(new Error(`no data for ${opts.timeoutMs / 1000} s`)), opts.timeoutMs);
  };
  alive();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stalled.signal]) : stalled.signal;
  try {
    const res = await fetch(opts.url, { headers, signal });
    await appendBody(res, file, opts, state, expected, alive);
  } finally {
    clearTimeout(timer);
  }
}

/** Check the response to a (ranged) GET and append its body to the partial file, calling `alive` on every chunk. */
async function appendBody(res: Response, file: RepoFile, opts: DownloadOptions, state: { have: number; hash: Hash }, expected: Expected, alive: () => void): Promise<void> {
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    // an overloaded server is asked again (as a broken connection is); a refusal is final
    if (res.status >= 500 || res.status === 429) throw new Error(`HTTP ${res.status}`);
    throw new UserError(`${file.path}: the Hub answered HTTP ${res.status} to the download`);
  }
  if (res.status === 200 && state.have > 0) {
    // the server ignored the Range and sends the whole file: start over
    await rm(opts.partial, { force: true });
    opts.onBytes?.(-state.have);
    state.have = 0;
    state.hash = newHash(expected);
  }
  const range = res.headers.get("content-range");
  if (res.status === 206 && !range?.startsWith(`bytes ${state.have}-`)) {
    await res.body?.cancel();
    throw new UserError(`${file.path}: asked for the bytes from ${state.have}, got ${range ?? "no Content-Range"}`);
  }
  const out = await open(opts.partial, "a");
  try {
    for await (const chunk of res.body ?? []) {
      alive();
      const bytes = chunk as Uint8Array;
      if (state.have + bytes.length > file.size) throw new UserError(`${file.path}: the Hub sent more than the ${file.size} bytes it lists`);
      await out.write(bytes);
      state.hash.update(bytes);
      state.have += bytes.length;
      opts.onBytes?.(bytes.length);
    }
  } finally {
    await out.close();
  }
  // a body that ends early without an error (a proxy cut it) is resumed like a broken connection
  if (state.have < file.size) throw new Error(`the response ended at byte ${state.have}`);
}

function reason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}
