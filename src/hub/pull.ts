import { datasetInfo, fileDownloadInfo, HubApiError, listFiles, modelInfo } from "@huggingface/hub";
import path from "node:path";
import { UserError } from "../model/errors.js";
import type { HubAccess } from "./access.js";
import { downloadRepoFile } from "./download.js";
import { selectDatasetFiles, selectModelFiles, type RepoFile, type RepoKind, type SplitFile } from "./select.js";

export interface PullOptions {
  repo: string;
  kind: RepoKind;
  /** a branch, tag or commit; default `main` */
  revision?: string;
  /** the files land here under their repo paths (or in the directory chosen for the commit the revision is at) */
  out: string | ((commit: string) => string);
  access: HubAccess;
  onProgress?: (event: PullProgress) => void;
  signal?: AbortSignal;
}

export type PullProgress =
  | { type: "start"; commit: string; files: { path: string; size: number }[]; totalBytes: number }
  | { type: "bytes"; path: string; bytes: number }
  | { type: "file"; path: string; size: number; fetched: boolean };

export interface PullResult {
  repo: string;
  kind: RepoKind;
  /** the commit the revision pointed at: every file comes from it */
  commit: string;
  dir: string;
  files: { path: string; size: number }[];
  /** datasets: each split and its file, under `dir` */
  splits: SplitFile[];
}

// where unfinished files wait, as huggingface_hub lays out a local_dir download
export const PARTIAL_DIR = path.join(".cache", "huggingface", "download");

/**
 * Download what a checkpoint needs (model) or a dataset's data files from the Hugging Face Hub (or HF_ENDPOINT) into
 * `out`: the revision is pinned to its commit first, so that every file comes from the same one; each file is
 * resumed from a partial download, verified against the listed checksum and renamed into place.
 */
export async function pullRepo(opts: PullOptions): Promise<PullResult> {
  const { repo, kind, access } = opts;
  checkRepoId(repo, "repo");
  const revision = opts.revision ?? "main";
  checkRevision(revision, "revision");
  const common = { hubUrl: access.endpoint, ...(access.token ? { accessToken: access.token } : {}) };
  const commit = await resolveCommit(opts, revision, common);
  const out = typeof opts.out === "string" ? opts.out : opts.out(commit);
  const listed: RepoFile[] = [];
  try {
    for await (const entry of listFiles({ ...common, repo: { type: kind, name: repo }, revision: commit, recursive: true })) {
      if (entry.type !== "file") continue;
      const file: RepoFile = { path: entry.path, size: entry.size, oid: entry.oid ?? "", ...(entry.lfs ? { lfs: entry.lfs } : {}) };
      checkListed(file, `${kind} repo ${repo}`);
      listed.push(file);
    }
  } catch (err) {
    throw hubError(err, opts, revision);
  }
  const selected = kind === "model" ? { files: selectModelFiles(repo, listed), splits: [] } : selectDatasetFiles(repo, listed);
  const files = selected.files.map((f) => ({ path: f.path, size: f.size }));
  opts.onProgress?.({ type: "start", commit, files, totalBytes: files.reduce((n, f) => n + f.size, 0) });
  for (const file of selected.files) {
    const info = await fileDownloadInfo({ ...common, repo: { type: kind, name: repo }, path: file.path, revision: commit }).catch((err: unknown) => {
      throw hubError(err, opts, revision);
    });
    if (!info) throw new UserError(`${kind} repo ${repo}: ${file.path} is listed but the Hub does not serve it`);
    if (info.size !== file.size) throw new UserError(`${kind} repo ${repo}: ${file.path} is listed with ${file.size} bytes but served with ${info.size}`);
    const { fetched } = await downloadRepoFile(file, {
      url: info.url,
      token: access.token,
      target: path.join(out, file.path),
      partial: path.join(out, PARTIAL_DIR, `${file.path}.${file.lfs?.oid ?? file.oid}.incomplete`),
      onBytes: (bytes) => opts.onProgress?.({ type: "bytes", path: file.path, bytes }),
      timeoutMs: access.downloadTimeoutMs,
      signal: opts.signal,
    });
    if (!fetched) opts.onProgress?.({ type: "bytes", path: file.path, bytes: file.size }); // already there counts as done
    opts.onProgress?.({ type: "file", path: file.path, size: file.size, fetched });
  }
  return { repo, kind, commit, dir: out, files, splits: selected.splits };
}

/** What the listing says is used as a path and a file name here: it must stay inside `out`, and ids must be hex. */
function checkListed(file: RepoFile, where: string): void {
  const parts = file.path.split("/");
  if (file.path.includes("\\") || parts.some((p) => p === "" || p === "." || p === "..") || file.path.includes("\0")) {
    throw new UserError(`${where}: the Hub listed a file with an unsafe path, ${JSON.stringify(file.path)}`);
  }
  if (!/^[0-9a-f]{40}$/.test(file.oid) || (file.lfs && !/^[0-9a-f]{64}$/.test(file.lfs.oid)) || !Number.isSafeInteger(file.size) || file.size < 0) {
    throw new UserError(`${where}: the Hub listed ${file.path} without a valid id, checksum or size`);
  }
}

/** A Hub repo id: `name` or `owner/name`, of letters, digits, `-`, `_`, `.` (never `..`). */
export function checkRepoId(repo: string, field: string): void {
  if (typeof repo !== "string" || !/^[A-Za-z0-9][\w.-]{0,95}(\/[A-Za-z0-9][\w.-]{0,95})?$/.test(repo) || repo.includes("..")) {
    throw new UserError(`${field} must be a Hub repo id such as microsoft/phi-2, got ${JSON.stringify(repo)}`, { field });
  }
}

/** A branch, tag or commit name as git allows it (refs/pr/1, v1.0, a sha). */
export function checkRevision(revision: string, field: string): void {
  if (typeof revision !== "string" || !/^[\w.\/-]{1,255}$/.test(revision) || revision.includes("..") || revision.startsWith("/")) {
    throw new UserError(`${field} must be a branch, tag or commit, got ${JSON.stringify(revision)}`, { field });
  }
}

/** The commit a revision of a repo points at now (GET /api/{models,datasets}/<repo>/revision/<revision>). */
export async function resolveRevision(opts: Pick<PullOptions, "repo" | "kind" | "revision" | "access">): Promise<string> {
  checkRepoId(opts.repo, "repo");
  const revision = opts.revision ?? "main";
  checkRevision(revision, "revision");
  return resolveCommit(opts, revision, { hubUrl: opts.access.endpoint, ...(opts.access.token ? { accessToken: opts.access.token } : {}) });
}

async function resolveCommit(opts: Pick<PullOptions, "repo" | "kind" | "revision" | "access">, revision: string, common: { hubUrl: string; accessToken?: string }): Promise<string> {
  const commitAt = async (rev: string | undefined): Promise<unknown> => {
    const params = { ...common, name: opts.repo, revision: rev, additionalFields: ["sha" as const] };
    return opts.kind === "model" ? (await modelInfo(params)).sha : (await datasetInfo(params)).sha;
  };
  try {
    const sha = await commitAt(revision);
    if (typeof sha !== "string" || !/^[0-9a-f]{40}$/.test(sha)) throw new UserError(`the Hub gave no commit for ${opts.kind} repo ${opts.repo} at ${revision}`);
    return sha;
  } catch (err) {
    if (err instanceof HubApiError && (err.statusCode === 404 || err.statusCode === 401) && opts.revision !== undefined) {
      // the repo or the revision: ask for the repo alone to say which
      const repoExists = await commitAt(undefined).then(() => true, () => false);
      if (repoExists) throw new UserError(`revision "${revision}" does not exist in ${opts.kind} repo ${opts.repo}`, "NOT_FOUND");
    }
    throw hubError(err, opts, revision);
  }
}

/** The Hub's refusals as one line naming the repo (a 401 is how the Hub hides a private repo from a stranger). */
function hubError(err: unknown, opts: Pick<PullOptions, "repo" | "kind" | "access">, revision: string): unknown {
  const what = `${opts.kind} repo ${opts.repo}`;
  if (err instanceof UserError) return err;
  if (err instanceof HubApiError) {
    if (err.statusCode === 404 || err.statusCode === 401) {
      const auth = opts.access.token ? "" : " (if it is private, set HF_TOKEN)";
      return new UserError(`${what} does not exist on ${opts.access.endpoint}${auth}`, "NOT_FOUND");
    }
    if (err.statusCode === 403) return new UserError(`${what} is gated or private: accept its terms on the Hub and set HF_TOKEN to a token with access`);
    return new UserError(`${what} at ${revision}: the Hub answered HTTP ${err.statusCode} (${err.message.split(". URL:")[0]})`);
  }
  if (err instanceof TypeError && err.message === "fetch failed") {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return new UserError(`cannot reach the Hub at ${opts.access.endpoint} (${cause?.code ?? cause?.message ?? "fetch failed"}); set HF_ENDPOINT for a mirror`);
  }
  return err;
}
