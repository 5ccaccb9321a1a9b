import { Kind, visit, type DocumentNode } from "graphql";
import { requestError } from "./request-error.js";

// PostgreSQL refuses NUL in text (22021), and an unpaired surrogate cannot be encoded as UTF-8
const NUL = "\u0000";
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What makes a string unstorable, in words; null when it is fine. */
export function fault(s: string): string | null {
  if (s.includes(NUL)) return "a NUL character (U+0000)";
  if (LONE_SURROGATE.test(s)) return "an unpaired UTF-16 surrogate";
  return null;
}

function refuse(where: string, what: string): never {
  throw requestError(`${where} contains ${what}, which is not allowed`, "BAD_USER_INPUT", 400);
}

/** Every string of the request, literal or variable (keys too), is text we can store: else BAD_USER_INPUT naming it. */
export function checkInputStrings(document: DocumentNode, variables: Record<string, unknown> | null | undefined): void {
  const names: string[] = [];
  visit(document, {
    Argument: { enter: (n) => void names.push(n.name.value), leave: () => void names.pop() },
    ObjectField: { enter: (n) => void names.push(n.name.value), leave: () => void names.pop() },
    [Kind.STRING](node) {
      const what = fault(node.value);
      if (what) refuse(names.length ? `argument "${names.join(".")}"` : "a string in the query", what);
    },
  });
  // iterative: a variable nested 100,000 levels deep must not overflow the stack
  const stack: [string, unknown][] = Object.entries(variables ?? {}).map(([k, v]) => [`$${k}`, v]);
  for (const key of Object.keys(variables ?? {})) {
    const what = fault(key);
    if (what) refuse("a variable name", what);
  }
  while (stack.length > 0) {
    const [where, value] = stack.pop()!;
    if (typeof value === "string") {
      const what = fault(value);
      if (what) refuse(`variable "${where}"`, what);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push([`${where}[${i}]`, v]));
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        const what = fault(k);
        if (what) refuse(`a key of variable "${where}"`, what);
        stack.push([`${where}.${k}`, v]);
      }
    }
  }
}
