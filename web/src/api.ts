import { createClient, type Client } from "graphql-ws";

/** A failed call: `code` is the server's `extensions.code`, or UNREACHABLE when no answer came back. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** the input field the server names (`input.hyperparameters.r`), when it names one */
    readonly path?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type Connectivity = "ok" | "unreachable" | "unauthenticated";

const KEY_ITEM = "tunegraph.apiKey";
const HTTP_URL = "/graphql";
const listeners = new Set<(c: Connectivity, detail: string) => void>();
let ws: Client | null = null;

export function apiKey(): string {
  return sessionStorage.getItem(KEY_ITEM) ?? "";
}

/** Kept in session storage (gone when the tab closes); open subscriptions reconnect with the new key. */
export function setApiKey(key: string): void {
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
  ws?.terminate();
  ws = null;
}

export function onConnectivity(fn: (c: Connectivity, detail: string) => void): void {
  listeners.add(fn);
}

function report(c: Connectivity, detail = ""): void {
  for (const fn of listeners) fn(c, detail);
}

interface GraphQLErrorJson {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; field?: string };
}

function toApiError(e: GraphQLErrorJson): ApiError {
  const code = e.extensions?.code ?? "INTERNAL_SERVER_ERROR";
  if (code === "UNAUTHENTICATED") report("unauthenticated", e.message);
  // the input path a mistake is about (`input.hyperparameters.r`), for UserErrors and coercion errors alike
  return new ApiError(e.message, code, e.extensions?.field);
}

/** One query or mutation over HTTP POST. */
export async function request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json, application/json" };
  const key = apiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  let res: Response;
  try {
    res = await fetch(HTTP_URL, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch {
    report("unreachable", `The API at ${location.origin}${HTTP_URL} cannot be reached: is \`tunegraph serve\` running?`);
    throw new ApiError("the API cannot be reached", "UNREACHABLE");
  }
  let body: { data?: T | null; errors?: GraphQLErrorJson[] };
  try {
    body = await res.json();
  } catch {
    report("unreachable", `The API at ${location.origin}${HTTP_URL} answered HTTP ${res.status} without a GraphQL body.`);
    throw new ApiError(`HTTP ${res.status} without a GraphQL body`, "UNREACHABLE");
  }
  if (body.errors?.length) {
    const err = toApiError(body.errors[0]!);
    if (err.code !== "UNAUTHENTICATED") report("ok");
    throw err;
  }
  report("ok");
  return body.data as T;
}

function socket(): Client {
  if (ws) return ws;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${HTTP_URL}`;
  ws = createClient({
    url,
    connectionParams: () => {
      const key = apiKey();
      return key ? { authorization: `Bearer ${key}` } : {};
    },
    retryAttempts: 5,
    on: {
      connected: () => report("ok"),
      closed: (event) => {
        const code = (event as CloseEvent | undefined)?.code;
        // 4403 Forbidden: the server refused the connection params (no key, wrong key)
        if (code === 4403 || code === 4401) report("unauthenticated", "The API refused the WebSocket connection: paste a valid API key above.");
      },
      error: () => report("unreachable", `The API WebSocket at ${url} cannot be reached: is \`tunegraph serve\` running?`),
    },
  });
  return ws;
}

export interface Sink<T> {
  next(data: T): void;
  error(err: ApiError): void;
  complete(): void;
}

/** A subscription over graphql-ws; the returned function stops it (the server sees `complete` and cancels the work). */
export function subscribe<T>(query: string, variables: Record<string, unknown>, sink: Sink<T>): () => void {
  return socket().subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) sink.error(toApiError(result.errors[0] as GraphQLErrorJson));
        else if (result.data) sink.next(result.data as T);
      },
      error: (err) => {
        if (Array.isArray(err)) sink.error(toApiError(err[0] as GraphQLErrorJson));
        else if (err instanceof Error) sink.error(new ApiError(err.message, "UNREACHABLE"));
        else {
          const close = err as CloseEvent;
          const unauth = close.code === 4403 || close.code === 4401;
          sink.error(new ApiError(close.reason || `connection closed (${close.code})`, unauth ? "UNAUTHENTICATED" : "UNREACHABLE"));
        }
      },
      complete: () => sink.complete(),
    },
  );
}
