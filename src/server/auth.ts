import { timingSafeEqual } from "node:crypto";
import { GraphQLError, Kind, type OperationDefinitionNode } from "graphql";

/** `Authorization: Bearer KEY` (HTTP) or connection params `{ authorization: "Bearer KEY" }` / `{ apiKey: KEY }` (WS). */
export function presentedKey(header: unknown): string | null {
  if (typeof header !== "string") return null;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m ? m[1]!.trim() : null;
}

export function keyMatches(apiKey: string | undefined, presented: string | null): boolean {
  if (!apiKey) return true;
  if (presented === null) return false;
  const a = Buffer.from(apiKey);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Only `health` (and `__typename`) may be asked without the key. */
export function requireAuth(operation: OperationDefinitionNode, authenticated: boolean): void {
  if (authenticated) return;
  const open = operation.operation === "query" && operation.selectionSet.selections.every(
    (s) => s.kind === Kind.FIELD && (s.name.value === "health" || s.name.value === "__typename"),
  );
  if (!open) {
    throw new GraphQLError("missing or wrong API key: send Authorization: Bearer <TUNEGRAPH_API_KEY>", {
      extensions: { code: "UNAUTHENTICATED", http: { status: 401 } },
    });
  }
}
