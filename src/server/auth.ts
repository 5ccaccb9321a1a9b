import { timingSafeEqual } from "node:crypto";
import { GraphQLError, Kind, type DocumentNode } from "graphql";

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

/** Only `health` (and `__typename`) may be asked without the key: every definition must be such a query. */
export function requireAuth(document: DocumentNode): void {
  const open = document.definitions.every(
    (d) =>
      d.kind === Kind.OPERATION_DEFINITION &&
      d.operation === "query" &&
      d.selectionSet.selections.every((s) => s.kind === Kind.FIELD && (s.name.value === "health" || s.name.value === "__typename")),
  );
  if (!open) throw unauthenticated();
}

export function unauthenticated(): GraphQLError {
  return new GraphQLError("missing or wrong API key: send Authorization: Bearer <TUNEGRAPH_API_KEY>", {
    extensions: { code: "UNAUTHENTICATED", http: { status: 401 } },
  });
}
