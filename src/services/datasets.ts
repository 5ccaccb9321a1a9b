import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { readConversations } from "../data/read.js";
import { isUserError, UserError } from "../model/errors.js";
import type { Dataset } from "../generated/prisma/client.js";
import type { ServiceContext } from "./context.js";
import { TooLargeError } from "./errors.js";
import { uniqueName } from "./names.js";
import { resolveInsideRoots } from "./paths.js";

/** Register a conversation file: its format is detected and every row read once, to count conversations and skips. */
export async function registerDataset(ctx: ServiceContext, name: string, file: string): Promise<Dataset> {
  await uniqueName(name, "name", (n) => ctx.prisma.dataset.findUnique({ where: { name: n } }));
  return addDataset(ctx, name, await resolveInsideRoots(file, ctx.config.roots, "path"));
}

/** Register a file the server itself chose (no roots check): the demo dataset, uploads. */
export async function addDataset(ctx: ServiceContext, name: string, real: string, opts: { id?: string; filename?: string } = {}): Promise<Dataset> {
  const read = await readConversations(real);
  return ctx.prisma.dataset.create({
    data: {
      ...(opts.id ? { id: opts.id } : {}),
      name,
      path: real,
      format: read.format,
      conversationCount: read.counts.conversations,
      skipped: read.counts.skipped,
      filename: opts.filename ?? null,
      bytes: BigInt((await stat(real)).size),
    },
  });
}

/** Where uploaded files live: `<dataDir>/files/<dataset id>/<file name>`. */
function uploadDir(ctx: ServiceContext, id: string): string {
  return path.join(ctx.config.dataDir, "files", id);
}

/**
 * Store an uploaded file (at most `maxBytes`) and register it as a dataset named after it; a file that is too large
 * or that no reader accepts is removed again, and the reader's error names the upload's own file name and line.
 */
export async function uploadDataset(ctx: ServiceContext, filename: string, content: Readable, maxBytes: number): Promise<Dataset> {
  const id = randomUUID();
  const base = path.basename(filename.replaceAll("\\", "/")).replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[._-]+/, "").slice(-80) || "upload.jsonl";
  const dir = uploadDir(ctx, id);
  const file = path.join(dir, base);
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(bytes > maxBytes ? new TooLargeError(`file: ${filename} is larger than ${maxBytes} bytes (TUNEGRAPH_FILE_LIMIT)`) : null, chunk);
    },
  });
  try {
    await pipeline(content, limit, createWriteStream(file));
    return await addDataset(ctx, `${base.replace(/\.(jsonl?|gz)$/g, "").slice(0, 80) || "file"}-${id.slice(0, 8)}`, file, { id, filename });
  } catch (err) {
    content.resume(); // drain what the client still sends, so that it reads our answer
    await rm(dir, { recursive: true, force: true });
    if (isUserError(err)) throw new UserError(err.message.replaceAll(file, filename), { code: err.code, field: "file" });
    throw err;
  }
}

/** The dataset's size in bytes: recorded at registration (rows from before that column: the file's size now, or 0). */
export async function datasetBytes(d: { path: string; bytes: bigint | null }): Promise<number> {
  if (d.bytes !== null) return Number(d.bytes);
  return (await stat(d.path).catch(() => null))?.size ?? 0;
}

export async function getDataset(ctx: ServiceContext, id: string): Promise<Dataset> {
  const d = await ctx.prisma.dataset.findUnique({ where: { id } });
  if (!d) throw new UserError(`no dataset ${id}`, "NOT_FOUND");
  return d;
}

/** Forget a dataset; an uploaded one's file is removed too (a registered file stays where it was). */
export async function deleteDataset(ctx: ServiceContext, id: string): Promise<boolean> {
  const d = await getDataset(ctx, id);
  const runs = await ctx.prisma.trainingRun.count({ where: { OR: [{ datasetId: id }, { validationDatasetId: id }] } });
  if (runs > 0) throw new UserError(`dataset ${id} is used by ${runs} training runs: delete those first`, "CONFLICT");
  await ctx.prisma.dataset.delete({ where: { id } });
  if (path.dirname(d.path) === uploadDir(ctx, id)) await rm(uploadDir(ctx, id), { recursive: true, force: true });
  return true;
}
