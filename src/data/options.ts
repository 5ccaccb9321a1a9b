import { fieldError } from "../model/errors.js";

/**
 * How conversations are read from a data file: one declaration (type, default, help) from which the DataOptions
 * type, its defaults, its one validator and the GraphQL types (src/schema) derive. Framework-free.
 */
export const DATA_OPTION_SPEC = {
  languages: { type: "languages", default: [] as string[], help: "OASST language codes to keep, e.g. en, de; empty: all" },
  paths: { type: "choice", choices: ["best", "all"], default: "best", help: "OASST trees: best (the rank-0 path of each tree) or all (every root-to-leaf path)" },
  includeDeleted: { type: "bool", default: false, help: "OASST: keep messages marked deleted" },
  includeSynthetic: { type: "bool", default: false, help: "OASST: keep synthetic messages" },
  includeFailedReview: { type: "bool", default: false, help: "OASST: keep messages that failed review" },
} as const;

type Spec = typeof DATA_OPTION_SPEC;
export type DataOptionName = keyof Spec;
type ValueOf<P> = P extends { type: "languages" } ? string[] : P extends { type: "bool" } ? boolean : P extends { choices: readonly (infer C)[] } ? C : never;
export type DataOptions = { -readonly [K in DataOptionName]: ValueOf<Spec[K]> };

export const DATA_OPTIONS = Object.entries(DATA_OPTION_SPEC) as [DataOptionName, Spec[DataOptionName]][];

export const DEFAULT_DATA_OPTIONS = Object.fromEntries(
  DATA_OPTIONS.map(([k, p]) => [k, Array.isArray(p.default) ? [] : p.default]),
) as unknown as DataOptions;

/** Where data options sit in a training job's input: errors name `data.<name>`. */
export const dataOptionField = (name: string): string => `data.${name}`;

const LANGUAGE_CODE = /^[a-z]{2,3}(-[A-Za-z]+)?$/;

/** Fill defaults and check the conversation-reading options (the API's input, the CLI's flags, the readers' caller). */
export function validateDataOptions(input: Record<string, unknown> = {}): DataOptions {
  const merged: Record<string, unknown> = { ...DEFAULT_DATA_OPTIONS, languages: [] };
  for (const [k, v] of Object.entries(input)) {
    if (!(k in DATA_OPTION_SPEC)) throw fieldError(dataOptionField(k), "is not a data option (unknown field)");
    if (v !== undefined && v !== null) merged[k] = v;
  }
  for (const [name, p] of DATA_OPTIONS) {
    const v = merged[name];
    const ok =
      p.type === "languages" ? Array.isArray(v) && v.every((l) => typeof l === "string" && LANGUAGE_CODE.test(l))
      : p.type === "bool" ? typeof v === "boolean"
      : (p.choices as readonly unknown[]).includes(v);
    if (!ok) {
      const rule = p.type === "languages" ? 'a list of language codes like "en", "de"' : p.type === "bool" ? "true or false" : `one of ${p.choices.join(", ")}`;
      throw fieldError(dataOptionField(name), `must be ${rule}, got ${JSON.stringify(v)}`);
    }
  }
  return merged as DataOptions;
}
