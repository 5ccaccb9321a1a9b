import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local HTTP server that answers the Hugging Face Hub endpoints @huggingface/hub and our downloader call, with the
// response shapes the real Hub gives (recorded from huggingface.co): repo info at a revision, the recursive tree
// listing (paginated by a Link header), `resolve` (LFS files redirect to a CDN address; X-Linked-Etag /
// X-Linked-Size / X-Repo-Commit headers) and byte ranges.

export interface HubRepo {
  type: "model" | "dataset";
  id: string;
  /** branch or tag → commit */
  refs: Record<string, string>;
  files: Record<string, Buffer>;
  /** only with `Authorization: Bearer <token>` (the Hub answers 401 otherwise, as for a repo that does not exist) */
  token?: string;
}

export interface LoggedRequest {
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

export interface FakeHub {
  url: string;
  requests: LoggedRequest[];
  /** the next download of this path sends this many bytes, then the connection is destroyed */
  cutOnce: Map<string, number>;
  /** the next download of this path sends this many bytes, then nothing more (the connection stays open) */
  stallOnce: Map<string, number>;
  /** these paths are served with one byte flipped (the listing keeps the true checksum) */
  corrupt: Set<string>;
  close(): Promise<void>;
}

const LFS = /\.(safetensors|parquet|gz|bin)$/;
const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const gitBlobId = (b: Buffer): string => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const lfsPointer = (b: Buffer): Buffer => Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(b)}\nsize ${b.length}\n`);

function treeEntry(path: string, content: Buffer): Record<string, unknown> {
  if (!LFS.test(path)) return { type: "file", oid: gitBlobId(content), size: content.length, path };
  const pointer = lfsPointer(content);
  return { type: "file", oid: gitBlobId(pointer), size: content.length, lfs: { oid: sha256(content), size: content.length, pointerSize: pointer.length }, path };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "X-Request-Id": "Root=1-test", ...headers });
  res.end(JSON.stringify(body));
}

export async function startFakeHub(repos: HubRepo[], opts: { pageSize?: number } = {}): Promise<FakeHub> {
  const requests: LoggedRequest[] = [];
  const cutOnce = new Map<string, number>();
  const stallOnce = new Map<string, number>();
  const corrupt = new Set<string>();
  const pageSize = opts.pageSize ?? 3;
  let base = "";

  const find = (type: string, id: string, req: IncomingMessage): HubRepo | "hidden" | undefined => {
    const repo = repos.find((r) => r.type === type && r.id === id);
    if (repo?.token && req.headers.authorization !== `Bearer ${repo.token}`) return "hidden";
    return repo;
  };
  const notFound = (res: ServerResponse): void =>
    json(res, 401, { error: "Invalid username or password." }, { "X-Error-Code": "RepoNotFound", "X-Error-Message": "Invalid username or password." });
  const commitOf = (repo: HubRepo, rev: string): string | undefined => (/^[0-9a-f]{40}$/.test(rev) && Object.values(repo.refs).includes(rev) ? rev : repo.refs[rev]);
  const badRevision = (res: ServerResponse, rev: string): void =>
    json(res, 404, { error: `Invalid rev id: ${rev}` }, { "X-Error-Code": "RevisionNotFound", "X-Error-Message": `Invalid rev id: ${rev}` });

  /** Bytes with Range support, as the Hub and its CDN serve them. */
  const sendBytes = (req: IncomingMessage, res: ServerResponse, path: string, content: Buffer, headers: Record<string, string>): void => {
    let body = content;
    if (corrupt.has(path)) {
      body = Buffer.from(content);
      body[body.length >> 1] ^= 0xff;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
    if (range && start >= body.length) {
      res.writeHead(416, { "Content-Range": `bytes */${body.length}` });
      return void res.end();
    }
    const slice = body.subarray(start, end + 1);
    res.writeHead(range ? 206 : 200, {
      ...headers,
      "Accept-Ranges": "bytes",
      "Content-Length": String(slice.length),
      "Content-Type": "application/octet-stream",
      ...(range ? { "Content-Range": `bytes ${start}-${end}/${body.length}` } : {}),
    });
    const cut = req.method === "GET" && (end - start > 0) ? cutOnce.get(path) : undefined;
    if (cut !== undefined) {
      cutOnce.delete(path);
      res.write(slice.subarray(0, cut), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    const stall = req.method === "GET" && (end - start > 0) ? stallOnce.get(path) : undefined;
    if (stall !== undefined) {
      stallOnce.delete(path);
      res.write(slice.subarray(0, stall));
      return;
    }
    res.end(slice);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url!, base);
    requests.push({ method: req.method!, url: url.pathname + url.search, range: req.headers.range, authorization: req.headers.authorization });
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    // GET /api/{models,datasets}/<owner>/<name>/revision/<rev>
    // GET /api/{models,datasets}/<owner>/<name>/tree/<rev>?recursive=true&cursor=<n>
    if (parts[0] === "api" && (parts[1] === "models" || parts[1] === "datasets")) {
      const type = parts[1].slice(0, -1);
      const repo = find(type, `${parts[2]}/${parts[3]}`, req);
      if (!repo || repo === "hidden") return notFound(res);
      const rev = parts[5] ?? "main";
      const commit = commitOf(repo, rev === "HEAD" ? "main" : rev);
      if (!commit) return badRevision(res, rev);
      if (parts[4] === "revision") {
        return json(res, 200, {
          _id: createHash("md5").update(repo.id).digest("hex").slice(0, 24),
          id: repo.id,
          private: repo.token !== undefined,
          gated: false,
          downloads: 12345,
          likes: 321,
          lastModified: "2024-04-29T16:25:56.000Z",
          ...(type === "model" ? { pipeline_tag: "text-generation" } : {}),
          sha: commit,
        });
      }
      if (parts[4] === "tree") {
        const entries = Object.entries(repo.files).sort(([a], [b]) => a.localeCompare(b)).map(([p, c]) => treeEntry(p, c));
        const cursor = Number(url.searchParams.get("cursor") ?? 0);
        const page = entries.slice(cursor, cursor + pageSize);
        const headers: Record<string, string> = {};
        if (cursor + pageSize < entries.length) {
          const next = new URL(url);
          next.searchParams.set("cursor", String(cursor + pageSize));
          headers.Link = `<${next.href}>; rel="next"`;
        }
        return json(res, 200, page, headers);
      }
    }
    // GET /<owner>/<name>/resolve/<rev>/<path> (models), /datasets/<owner>/<name>/resolve/<rev>/<path>
    const at = parts[0] === "datasets" ? 1 : 0;
    if (parts[at + 2] === "resolve") {
      const repo = find(at ? "dataset" : "model", `${parts[at]}/${parts[at + 1]}`, req);
      if (!repo || repo === "hidden") return notFound(res);
      const commit = commitOf(repo, parts[at + 3]!);
      if (!commit) return badRevision(res, parts[at + 3]!);
      const path = parts.slice(at + 4).join("/");
      const content = repo.files[path];
      if (!content) return json(res, 404, { error: "Entry not found" }, { "X-Error-Code": "EntryNotFound" });
      if (LFS.test(path)) {
        const oid = sha256(content);
        res.writeHead(302, {
          Location: `${base}/cdn-lfs/${oid}?path=${encodeURIComponent(path)}&Expires=1999999999&Signature=test`,
          "X-Linked-Etag": `"${oid}"`,
          "X-Linked-Size": String(content.length),
          "X-Repo-Commit": commit,
          ETag: `"${gitBlobId(lfsPointer(content))}"`,
        });
        return void res.end();
      }
      return sendBytes(req, res, path, content, { ETag: `"${gitBlobId(content)}"`, "X-Repo-Commit": commit });
    }
    // the CDN an LFS resolve redirects to
    if (parts[0] === "cdn-lfs") {
      for (const repo of repos) {
        for (const [path, content] of Object.entries(repo.files)) {
          if (sha256(content) === parts[1]) return sendBytes(req, res, path, content, { ETag: `"${parts[1]}"` });
        }
      }
    }
    json(res, 404, { error: "Not found" });
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    cutOnce,
    stallOnce,
    corrupt,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
