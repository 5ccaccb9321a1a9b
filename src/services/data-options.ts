import { DEFAULT_DATA_OPTIONS, type DataOptions } from "../backends/types.js";
import { UserError } from "../model/errors.js";

/** Fill defaults and check the conversation-reading options of a training run. */
export function validateDataOptions(input: Record<string, unknown> = {}): DataOptions {
  const merged = { ...DEFAULT_DATA_OPTIONS };
  for (const [k, v] of Object.entries(input)) {
    if (!(k in DEFAULT_DATA_OPTIONS)) throw new UserError(`unknown data option "${k}"`);
    if (v !== undefined && v !== null) (merged as Record<string, unknown>)[k] = v;
  }
  if (!Array.isArray(merged.languages) || merged.languages.some((l) => typeof l !== "string" || !/^[a-z]{2,3}(-[A-Za-z]+)?$/.test(l))) {
    throw new UserError(`data.languages must be language codes like "en", got ${JSON.stringify(merged.languages)}`);
  }
  if (merged.paths !== "best" && merged.paths !== "all") {
    throw new UserError(`data.paths must be "best" or "all", got ${JSON.stringify(merged.paths)}`);
  }
  for (const k of ["includeDeleted", "includeSynthetic", "includeFailedReview"] as const) {
    if (typeof merged[k] !== "boolean") throw new UserError(`data.${k} must be true or false`);
  }
  return merged;
}
