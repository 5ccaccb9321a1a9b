import {
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { Limits } from "../services/config.js";
import { requireAuth, unauthenticated } from "./auth.js";
import { checkDocumentBounds } from "./document-bounds.js";
import { checkInputStrings } from "./input-strings.js";
import { checkQueryLimits } from "./limits.js";
import { requestError } from "./request-error.js";

export type Transport = "GET" | "POST" | "WS";

// enough for `query Health { health { ok database version uptimeSeconds } }` and a little more
const UNAUTHENTICATED_MAX_TOKENS = 100;

/** Query fields that do work (and write rows): never on a GET, which caches and prefetchers repeat. */
const SIDE_EFFECT_QUERIES = new Set(["generate"]);

export interface PipelineRequest {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  authenticated: boolean;
  transport: Transport;
}

/**
 * The one request chain of HTTP (Apollo, plugins/pipeline.ts) and WebSocket (ws.ts), in order:
 * `admit` (auth, token-bounded parse, document bounds) → graphql validation → `check` (transport rules, depth and
 * cost, strings). Each step throws a GraphQLError with its code and HTTP status; error masking is `maskError`.
 */
export class RequestPipeline {
  constructor(
    readonly schema: GraphQLSchema,
    private readonly limits: Limits,
  ) {}

  /** Everything that runs before validation, so that its cost is bounded by the limits, not by the body size. */
  admit(source: string, authenticated: boolean): DocumentNode {
    if (!authenticated) {
      // a stranger gets no further than reading a document of a hundred tokens
      try {
        requireAuth(parse(source, { maxTokens: UNAUTHENTICATED_MAX_TOKENS }));
      } catch {
        throw unauthenticated();
      }
    }
    let document: DocumentNode;
    try {
      document = parse(source, { maxTokens: this.limits.maxTokens });
    } catch (err) {
      const message = err instanceof GraphQLError ? err.message : String(err);
      throw new GraphQLError(message.replace(/Document contains more th\w+ (\d+) tokens\. Parsing aborted\./, "the query has more than $1 tokens (TUNEGRAPH_MAX_TOKENS)."), {
        ...(err instanceof GraphQLError ? { source: err.source, positions: err.positions } : {}),
        extensions: { code: "GRAPHQL_PARSE_FAILED", http: { status: 400 } },
      });
    }
    checkDocumentBounds(document, this.limits);
    return document;
  }

  /** After validation, for the operation that will run. */
  check(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | null | undefined, transport: Transport): void {
    if (operation.operation === "subscription" && transport !== "WS") {
      throw requestError("subscriptions are served over WebSocket (graphql-ws) on this same URL, not over HTTP", "BAD_REQUEST", 400);
    }
    if (transport === "GET" && selectsSideEffects(document, operation.selectionSet)) {
      throw requestError("generate does work and stores a row: send it with POST, not GET", "BAD_REQUEST", 405, new Map([["allow", "POST"]]));
    }
    checkQueryLimits(this.schema, document, operation, variables ?? undefined, this.limits);
    checkInputStrings(document, variables);
  }

  /** The whole chain, for transports that run it themselves (WebSocket). */
  prepare(req: PipelineRequest): { document: DocumentNode; operation: OperationDefinitionNode } | { errors: readonly GraphQLError[] } {
    try {
      const document = this.admit(req.query, req.authenticated);
      const errors = validate(this.schema, document);
      if (errors.length > 0) return { errors };
      const operation = getOperationAST(document, req.operationName);
      if (!operation) return { errors: [requestError("no operation to run (name it with operationName)", "BAD_REQUEST", 400)] };
      this.check(document, operation, req.variables, req.transport);
      return { document, operation };
    } catch (err) {
      if (err instanceof GraphQLError) return { errors: [err] };
      throw err;
    }
  }
}

/** Whether the root selection (through fragments) asks for a side-effect query field. */
function selectsSideEffects(document: DocumentNode, set: SelectionSetNode, seen = new Set<string>()): boolean {
  return set.selections.some((s) => {
    if (s.kind === Kind.FIELD) return SIDE_EFFECT_QUERIES.has(s.name.value);
    if (s.kind === Kind.INLINE_FRAGMENT) return selectsSideEffects(document, s.selectionSet, seen);
    if (seen.has(s.name.value)) return false;
    seen.add(s.name.value);
    const frag = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value);
    return frag?.kind === Kind.FRAGMENT_DEFINITION && selectsSideEffects(document, frag.selectionSet, seen);
  });
}
