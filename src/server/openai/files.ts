import path from "node:path";
import { listDatasets } from "../../services/catalog.js";
import { datasetBytes, deleteDataset, getDataset, uploadDataset } from "../../services/datasets.js";
import type { DatasetRecord } from "../../services/records.js";
import { badParam } from "./errors.js";
import { queryInt, queryString } from "./params.js";
import { unixSeconds, withoutPrefix, withPrefix, type Route } from "./route.js";
import { readMultipart } from "./upload.js";

// Files are datasets: an upload is stored under the data directory and registered (its format detected, every row
// read once); every dataset, however registered, is a file here. `tunegraph` holds what the dataset knows beyond
// OpenAI's fields.

const PURPOSE = "fine-tune";
const FILE_PREFIX = "file-";
export const fileId = (datasetId: string): string => withPrefix(FILE_PREFIX, datasetId);
export const datasetIdOf = (fileId: string): string => withoutPrefix(FILE_PREFIX, fileId);

async function fileObject(d: DatasetRecord): Promise<object> {
  return {
    id: fileId(d.id),
    object: "file",
    bytes: await datasetBytes(d),
    created_at: unixSeconds(d.createdAt),
    filename: d.filename ?? path.basename(d.path),
    purpose: PURPOSE,
    status: "processed",
    status_details: null,
    expires_at: null,
    tunegraph: { name: d.name, format: d.format, conversations: d.conversationCount, skipped: d.skipped },
  };
}

/** POST /v1/files (multipart: `file`, `purpose` = fine-tune) */
export const upload: Route = async ({ services }, req, res) => {
  const limit = services.config.limits.fileBytes;
  const { fields, file } = await readMultipart(req, "file", (name, content) => uploadDataset(services, name, content, limit), (d) => deleteDataset(services, d.id));
  const refuse = async (err: Error) => {
    if (file) await deleteDataset(services, file.id);
    throw err;
  };
  if (!file) return refuse(badParam("file", "file is required: a multipart part named \"file\"", "missing_required_parameter"));
  if (fields.purpose !== PURPOSE) {
    return refuse(badParam("purpose", `purpose must be "${PURPOSE}" (the only files tunegraph takes are training data), got ${JSON.stringify(fields.purpose ?? null)}`));
  }
  res.json(await fileObject(file));
};

/** GET /v1/files (`purpose`, `order`, `after`, `limit`) */
export const list: Route = async ({ services }, req, res) => {
  const purpose = queryString(req.query, "purpose");
  const order = queryString(req.query, "order") ?? "desc";
  if (order !== "asc" && order !== "desc") throw badParam("order", `order must be asc or desc, got ${JSON.stringify(order)}`);
  const limit = queryInt(req.query, "limit", 10_000, 1, 10_000);
  const after = queryString(req.query, "after");
  let all = purpose === undefined || purpose === PURPOSE ? await listDatasets(services) : [];
  if (order === "asc") all = all.reverse();
  const start = after === undefined ? 0 : all.findIndex((d) => d.id === datasetIdOf(after)) + 1;
  if (after !== undefined && start === 0) throw badParam("after", `after: no file ${after}`);
  const page = all.slice(start, start + limit);
  const data = await Promise.all(page.map(fileObject));
  res.json({ object: "list", data, has_more: start + limit < all.length, first_id: page.length ? fileId(page[0]!.id) : null, last_id: page.length ? fileId(page.at(-1)!.id) : null });
};

/** GET /v1/files/{file_id} */
export const retrieve: Route = async ({ services }, req, res) => {
  res.json(await fileObject(await getDataset(services, datasetIdOf(String(req.params.file_id)))));
};

/** GET /v1/files/{file_id}/content: the stored bytes, as uploaded (or as registered). */
export const content: Route = async ({ services }, req, res) => {
  const d = await getDataset(services, datasetIdOf(String(req.params.file_id)));
  res.type("application/octet-stream");
  await new Promise<void>((resolve, reject) => res.sendFile(d.path, { dotfiles: "allow" }, (err) => (err ? reject(err) : resolve())));
};

/** DELETE /v1/files/{file_id}: refused (409) while a training run uses it. */
export const remove: Route = async ({ services }, req, res) => {
  const id = datasetIdOf(String(req.params.file_id));
  await deleteDataset(services, id);
  res.json({ id: fileId(id), object: "file", deleted: true });
};
