// The new-run form checks each field with the server's own rules (src/backends/training-options.ts), so the page
// and the API reject the same values with the same words.
import { validateHyperparameters } from "../../src/backends/training/validate.js";
import { DEFAULT_HYPERPARAMETERS, type TrainingHyperparameters } from "../../src/backends/types.js";

export type Field = keyof TrainingHyperparameters;
export type FieldErrors = Partial<Record<Field, string>>;

/** A number input's text as the value to check: a number when it reads as one, else the text itself (so the message shows it). */
export function parseNumber(text: string): number | string {
  const n = Number(text);
  return text.trim() !== "" && Number.isFinite(n) ? n : text;
}

/** Each field checked on its own against the reference job's other values: every bad field gets its message. */
export function fieldErrors(values: Partial<Record<Field, unknown>>): FieldErrors {
  const errors: FieldErrors = {};
  for (const [field, value] of Object.entries(values) as [Field, unknown][]) {
    try {
      validateHyperparameters({ [field]: value });
    } catch (err) {
      errors[field] = (err as Error).message;
    }
  }
  return errors;
}

/**
 * The form field a server error is about, from its input path (`input.hyperparameters.r`): the server's
 * `extensions.field`, or the path graphql-js names when variable coercion fails.
 */
export function fieldOfError(path?: string): Field | null {
  const name = path?.startsWith("input.hyperparameters.") ? path.slice("input.hyperparameters.".length) : null;
  return name !== null && name in DEFAULT_HYPERPARAMETERS ? (name as Field) : null;
}
