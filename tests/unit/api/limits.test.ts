import { getOperationAST, parse, type GraphQLError } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import type { GraphQLSchema } from "graphql";
import { checkQueryLimits } from "../../../src/server/limits.js";
import { apiSchema } from "../../../src/server/schema.js";

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await apiSchema();
});

function check(query: string, limits: { maxDepth: number; maxCost: number }, variables?: Record<string, unknown>): string | null {
  const document = parse(query);
  try {
    checkQueryLimits(schema, document, getOperationAST(document)!, variables, limits);
    return null;
  } catch (err) {
    return (err as GraphQLError).extensions.code as string;
  }
}

describe("query depth and cost", () => {
  it("counts depth through fragments and inline fragments", () => {
    const q = "query { trainingRuns { nodes { ...R } } } fragment R on TrainingRun { adapter { ... on Adapter { run { id } } } }";
    expect(check(q, { maxDepth: 5, maxCost: 1e9 })).toBe(null);
    expect(check(q, { maxDepth: 4, maxCost: 1e9 })).toBe("QUERY_TOO_DEEP");
  });

  it("multiplies list fields by first/last, from literals or variables, and a connection's first sizes its nodes", () => {
    // trainingRuns 1 + 5 nodes x (1 + metrics(last: 10) x 2 fields) = 1 + 1 + 5 * (1 + 10 * 2) = 107
    const q = "query ($n: Int) { trainingRuns(first: 5) { nodes { metrics(last: $n) { step loss } } } }";
    expect(check(q, { maxDepth: 10, maxCost: 107 }, { n: 10 })).toBe(null);
    expect(check(q, { maxDepth: 10, maxCost: 106 }, { n: 10 })).toBe("QUERY_TOO_COSTLY");
    expect(check(q, { maxDepth: 10, maxCost: 500 }, { n: 1000 })).toBe("QUERY_TOO_COSTLY");
  });

  it("does not count introspection", () => {
    expect(check("{ __schema { types { name fields { name type { name ofType { name ofType { name } } } } } } }", { maxDepth: 2, maxCost: 2 })).toBe(null);
  });
});
