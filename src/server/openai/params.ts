import { fault } from "../input-strings.js";
import { badParam } from "./errors.js";

// Reading a /v1 request body: each mistake is a 400 naming its parameter, as OpenAI answers.

export type Body = Record<string, unknown>;

/** The body as an object whose parameters are all known and whose strings can be stored. */
export function readBody(body: unknown, known: readonly string[]): Body {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badParam("body", "the request body must be a JSON object (Content-Type: application/json)", "invalid_json");
  }
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) throw badParam(key, `Unrecognized request argument supplied: ${key}`, "unknown_parameter");
  }
  checkStrings(body);
  return body as Body;
}

/** PostgreSQL refuses NUL in text and an unpaired surrogate cannot be encoded: refused, naming where it is. */
function checkStrings(body: object): void {
  const stack: [string, unknown][] = Object.entries(body);
  while (stack.length > 0) {
    const [where, value] = stack.pop()!;
    if (typeof value === "string") {
      const what = fault(value);
      if (what) throw badParam(where, `${where} contains ${what}, which is not allowed`);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push([`${where}[${i}]`, v]));
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (fault(k)) throw badParam(where, `a key of ${where} contains ${fault(k)}, which is not allowed`);
        stack.push([`${where}.${k}`, v]);
      }
    }
  }
}

const present = (v: unknown): boolean => v !== undefined && v !== null;

export function optString(body: Body, name: string): string | undefined {
  const v = body[name];
  if (!present(v)) return undefined;
  if (typeof v !== "string") throw badParam(name, `${name} must be a string, got ${JSON.stringify(v)}`, "invalid_type");
  return v;
}

export function reqString(body: Body, name: string): string {
  const v = optString(body, name);
  if (v === undefined || v === "") throw badParam(name, `${name} is required (a non-empty string)`, "missing_required_parameter");
  return v;
}

/** `path`: where the object sits in the request (`hyperparameters.n_epochs`), when it is not the body itself. */
export function optNumber(body: Body, name: string, min: number, max: number, opts: { int?: boolean; minExclusive?: boolean; path?: string } = {}): number | undefined {
  const v = body[name];
  if (!present(v)) return undefined;
  name = opts.path ?? name;
  const inRange = typeof v === "number" && Number.isFinite(v) && (opts.minExclusive ? v > min : v >= min) && v <= max;
  if (!inRange || (opts.int && !Number.isInteger(v))) {
    const what = opts.int ? "an integer" : "a number";
    throw badParam(name, `${name} must be ${what} in ${opts.minExclusive ? "(" : "["}${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v as number;
}

export function optBoolean(body: Body, name: string): boolean | undefined {
  const v = body[name];
  if (!present(v)) return undefined;
  if (typeof v !== "boolean") throw badParam(name, `${name} must be true or false, got ${JSON.stringify(v)}`, "invalid_type");
  return v;
}

export function optObject(body: Body, name: string): Body | undefined {
  const v = body[name];
  if (!present(v)) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw badParam(name, `${name} must be an object, got ${JSON.stringify(v)}`, "invalid_type");
  return v as Body;
}

/** A query-string integer (`limit`): default when absent. */
export function queryInt(query: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = query[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw badParam(name, `${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  return n;
}

export function queryString(query: Record<string, unknown>, name: string): string | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || raw === "") throw badParam(name, `${name} must be a non-empty string`);
  return raw;
}
