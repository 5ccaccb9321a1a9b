import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";
import { apiFieldName, isUserError, type UserError } from "../../model/errors.js";
import { LimitError, TooLargeError } from "../../services/errors.js";

/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`, sent with the matching HTTP status. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A refusal of the /v1 face, with its status; `param` names the request parameter it is about. */
export class OpenAIError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = "OpenAIError";
  }
}

export const badParam = (param: string, message: string, code: string | null = "invalid_value"): OpenAIError => new OpenAIError(400, message, param, code);

const TYPES: Record<number, string> = { 401: "authentication_error", 429: "rate_limit_error" };

/**
 * The services speak the GraphQL face's field names (`maxNewTokens must be ...`): a handler passes its own names for
 * them so that messages and `param` name what the client sent (`max_tokens must be ...`); a key ending in "." renames
 * every field under it.
 */
export type ParamNames = Record<string, string>;

/** Any error as OpenAI's error: a user's mistake keeps its message; anything else is logged and masked. */
export function toOpenAIError(err: unknown, log: Logger, names: ParamNames = {}): OpenAIError {
  if (err instanceof OpenAIError) return err;
  if (isUserError(err)) {
    const status = err.code === "NOT_FOUND" ? 404 : err.code === "CONFLICT" ? 409 : 400;
    const [message, param] = err.template !== undefined ? renderFor(err, names) : rename(err.message, err.field, names);
    return new OpenAIError(status, message, param, status === 404 && param === "model" ? "model_not_found" : err.code.toLowerCase());
  }
  if (err instanceof LimitError) return new OpenAIError(429, err.message, null, "rate_limit_exceeded");
  if (err instanceof TooLargeError) return new OpenAIError(413, err.message, "file", "file_too_large");
  if (typeof err === "object" && err !== null && (err as { code?: unknown }).code === "P2002") {
    return new OpenAIError(409, "already exists (a name or key is taken)", null, "conflict");
  }
  // express's body parser
  const type = (err as { type?: string } | null)?.type;
  if (type === "entity.too.large") return new OpenAIError(413, "the request body is larger than the limit (TUNEGRAPH_BODY_LIMIT)", null, "request_too_large");
  if (type === "entity.parse.failed") return new OpenAIError(400, "the request body is not valid JSON", null, "invalid_json");
  log.error({ err }, "internal error (/v1)");
  return new OpenAIError(500, "Internal server error", null, null);
}

/** A message whose fields each face names itself (model/errors.ts): named with ours. */
function renderFor(err: UserError, names: ParamNames): [string, string | null] {
  const name = (f: string) => names[f] ?? underPrefix(f, names) ?? names[apiFieldName(f)] ?? f;
  return [err.render(name), err.field === undefined ? null : name(err.field)];
}

/** A key ending in "." renames everything under it: `{ "hyperparameters.": "tunegraph.hyperparameters." }`. */
function underPrefix(f: string, names: ParamNames): string | undefined {
  const hit = Object.entries(names).find(([k]) => k.endsWith(".") && f.startsWith(k));
  return hit ? hit[1] + f.slice(hit[0].length) : undefined;
}

/** A plain message: each of our names in it becomes theirs; `param` is its field's name, else the first name in it. */
function rename(message: string, field: string | undefined, names: ParamNames): [string, string | null] {
  let param: string | null = field === undefined ? null : (names[field] ?? field);
  let out = message;
  for (const [ours, theirs] of Object.entries(names)) {
    if (ours.endsWith(".")) continue;
    const re = new RegExp(`\\b${ours.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, "g");
    if (!re.test(out)) continue;
    out = out.replace(re, theirs);
    param ??= theirs;
  }
  return [out, param];
}

export function errorBody(e: OpenAIError): OpenAIErrorBody {
  return { error: { message: e.message, type: TYPES[e.status] ?? (e.status >= 500 ? "server_error" : "invalid_request_error"), param: e.param, code: e.code } };
}

/** The router's last handler: every error of a /v1 route leaves in OpenAI's shape. */
export function openaiErrors(log: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const e = toOpenAIError(err, log);
    if (res.headersSent) return void res.destroy();
    res.status(e.status).json(errorBody(e));
  };
}

export const unknownRoute: RequestHandler = (req, res) => {
  const e = new OpenAIError(404, `Invalid URL (${req.method} ${req.originalUrl.split("?")[0]})`, null, "unknown_url");
  res.status(404).json(errorBody(e));
};
