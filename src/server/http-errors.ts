import { STATUS_CODES } from "node:http";
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";

/** The API's error shape, for what express answers itself (body parsing, static files, unknown routes). */
export function errorBody(message: string, code: string): { errors: { message: string; extensions: { code: string } }[] } {
  return { errors: [{ message, extensions: { code } }] };
}

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody(`no route for ${req.method} ${req.path}`, "NOT_FOUND"));
};

/** Replaces express's HTML error page (stack, absolute paths) and its text log line: JSON out, pino in the log. */
export function jsonErrors(log: Logger, bodyBytes: number): ErrorRequestHandler {
  return (err: { status?: number; statusCode?: number; type?: string }, req, res, _next) => {
    const status = err.status ?? err.statusCode ?? 500;
    if (status >= 500) log.error({ err, method: req.method, path: req.path }, "internal error");
    const [message, code] = describe(err.type, status, bodyBytes);
    if (res.headersSent) return void res.destroy();
    res.status(status).json(errorBody(message, code));
  };
}

function describe(type: string | undefined, status: number, bodyBytes: number): [string, string] {
  if (type === "entity.too.large") return [`the request body is larger than ${bodyBytes} bytes (TUNEGRAPH_BODY_LIMIT)`, "BAD_REQUEST"];
  if (type === "entity.parse.failed") return ['the request body must be a JSON object: { "query": "...", "variables": { ... } }', "BAD_REQUEST"];
  if (status === 403 || status === 404) return ["not found", "NOT_FOUND"];
  if (status >= 500) return ["Internal server error", "INTERNAL_SERVER_ERROR"];
  return [STATUS_CODES[status] ?? "bad request", "BAD_REQUEST"];
}
