import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isListType,
  isObjectType,
  isInterfaceType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  type GraphQLCompositeType,
} from "graphql";

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
}

// a list field without `first`/`last` counts as this many items
const DEFAULT_LIST_SIZE = 20;

/**
 * Depth and cost of the operation to run: each field costs 1, a list field multiplies its selection by its
 * `first`/`last` argument (or a default). Throws QUERY_TOO_DEEP / QUERY_TOO_COSTLY. Introspection is not limited.
 */
export function checkQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  limits: QueryLimits,
): void {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const root =
    operation.operation === "query" ? schema.getQueryType() : operation.operation === "mutation" ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) return;
  let maxDepth = 0;

  // `inherited`: a connection's first/last, which sizes its `nodes` list
  const walk = (set: SelectionSetNode, parent: GraphQLCompositeType, depth: number, seen: Set<string>, inherited?: number): number => {
    let cost = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value.startsWith("__")) continue;
        maxDepth = Math.max(maxDepth, depth);
        if (maxDepth > limits.maxDepth) {
          throw new GraphQLError(`query is deeper than ${limits.maxDepth} levels`, { extensions: { code: "QUERY_TOO_DEEP", http: { status: 400 } } });
        }
        const field: GraphQLField<unknown, unknown> | undefined =
          isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[sel.name.value] : undefined;
        const isList = !!field && isListType(getNullableType(field.type));
        const size = listSize(sel.arguments ?? [], variables);
        let child = 0;
        if (sel.selectionSet) {
          const type = field ? (getNamedType(field.type) as GraphQLCompositeType) : parent;
          child = walk(sel.selectionSet, type, depth + 1, seen, isList ? undefined : size);
        }
        const many = isList ? (size ?? inherited ?? DEFAULT_LIST_SIZE) : 1;
        cost += 1 + many * child;
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const type = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) as GraphQLCompositeType) : parent;
        cost += walk(sel.selectionSet, type, depth, seen, inherited);
      } else {
        const frag = fragments.get(sel.name.value);
        if (!frag || seen.has(frag.name.value)) continue;
        const type = schema.getType(frag.typeCondition.name.value) as GraphQLCompositeType;
        cost += walk(frag.selectionSet, type, depth, new Set([...seen, frag.name.value]), inherited);
      }
      if (cost > limits.maxCost) {
        throw new GraphQLError(`query costs more than ${limits.maxCost} (each field 1, lists times their first/last)`, {
          extensions: { code: "QUERY_TOO_COSTLY", http: { status: 400 } },
        });
      }
    }
    return cost;
  };
  walk(operation.selectionSet, root, 1, new Set());
}

function listSize(args: readonly { name: { value: string }; value: ValueNode }[], variables: Record<string, unknown> | undefined): number | undefined {
  for (const a of args) {
    if (a.name.value !== "first" && a.name.value !== "last") continue;
    const v = a.value.kind === Kind.INT ? Number(a.value.value) : a.value.kind === Kind.VARIABLE ? variables?.[a.value.name.value] : undefined;
    if (typeof v === "number" && v >= 0) return v;
  }
  return undefined;
}
