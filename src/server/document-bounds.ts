import { Kind, visit, type DocumentNode } from "graphql";
import { requestError } from "./request-error.js";

export interface DocumentBounds {
  maxFields: number;
  maxAliases: number;
  maxDirectives: number;
}

/**
 * Size of the parsed document, before validation: graphql-js's validation (OverlappingFieldsCanBeMerged) costs the
 * square of the fields, so a document of a few hundred KB held the event loop for a minute. graphql-armor's limits
 * are validation rules that run in that same pass, after the damage; this check runs first.
 */
export function checkDocumentBounds(document: DocumentNode, bounds: DocumentBounds): void {
  let fields = 0;
  let aliases = 0;
  let directives = 0;
  visit(document, {
    [Kind.FIELD](node) {
      fields++;
      if (node.alias) aliases++;
    },
    [Kind.DIRECTIVE]() {
      directives++;
    },
  });
  const over = (what: string, n: number, max: number, env: string) =>
    requestError(`the query has ${n} ${what}; at most ${max} are allowed (${env})`, "QUERY_TOO_COSTLY", 400);
  if (fields > bounds.maxFields) throw over("fields", fields, bounds.maxFields, "TUNEGRAPH_MAX_FIELDS");
  if (aliases > bounds.maxAliases) throw over("aliases", aliases, bounds.maxAliases, "TUNEGRAPH_MAX_ALIASES");
  if (directives > bounds.maxDirectives) throw over("directives", directives, bounds.maxDirectives, "TUNEGRAPH_MAX_DIRECTIVES");
}
