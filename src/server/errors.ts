import { GraphQLError, type GraphQLFormattedError } from "graphql";
import type { Logger } from "pino";
import { isUserError } from "../model/errors.js";
import { LimitError } from "../services/errors.js";

const PASS_THROUGH = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "UNAUTHENTICATED",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
  "QUERY_TOO_DEEP",
  "QUERY_TOO_COSTLY",
]);

/**
 * Every error leaves with an `extensions.code`: a user's mistake keeps its message (BAD_USER_INPUT, NOT_FOUND,
 * CONFLICT, LIMIT_EXCEEDED); anything else is masked as INTERNAL_SERVER_ERROR and logged with its stack.
 */
export function maskError(formatted: GraphQLFormattedError, error: unknown, log: Logger): GraphQLFormattedError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (isUserError(original)) return withCode(formatted, original.code, original.message, original.field);
  if (original instanceof LimitError) return withCode(formatted, original.code, original.message);
  if (isUniqueViolation(original)) return withCode(formatted, "CONFLICT", "already exists (a name or key is taken)");
  const code = formatted.extensions?.code;
  if (typeof code === "string" && PASS_THROUGH.has(code)) return withCoercionField(stripStack(formatted));
  if (original instanceof GraphQLError && !original.originalError && code === undefined) {
    return withCode(formatted, "BAD_REQUEST", formatted.message);
  }
  log.error({ err: original, path: formatted.path }, "internal error");
  return { message: "Internal server error", ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: "INTERNAL_SERVER_ERROR" } };
}

/** `field`: the input path a user's mistake is about (`input.hyperparameters.r`), for forms to highlight. */
function withCode(f: GraphQLFormattedError, code: string, message: string, field?: string): GraphQLFormattedError {
  const extensions = field === undefined ? { code } : { code, field };
  return { message, ...(f.locations ? { locations: f.locations } : {}), ...(f.path ? { path: f.path } : {}), extensions };
}

// `http` is the status Apollo answers with; graphql-ws would send it along
function stripStack(f: GraphQLFormattedError): GraphQLFormattedError {
  const { stacktrace: _s, http: _h, ...extensions } = f.extensions ?? {};
  return { ...f, extensions };
}

// graphql-js names the input path of a variable that failed coercion only in its message
const COERCION_PATH = /^Variable "\$\w+" got invalid value .* at "([\w.[\]]+)"/;

/** A variable's coercion error with its input path in `extensions.field`, as a UserError's: clients never parse messages. */
function withCoercionField(f: GraphQLFormattedError): GraphQLFormattedError {
  const field = f.extensions?.code === "BAD_USER_INPUT" && f.extensions.field === undefined ? COERCION_PATH.exec(f.message)?.[1] : undefined;
  return field === undefined ? f : { ...f, extensions: { ...f.extensions, field } };
}

/** Prisma's P2002: two requests raced for the same unique name. */
function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "P2002";
}
