// The new-run form checks each field with the server's own rules (src/backends/training-options.ts), so the page
// and the API reject the same values with the same words.
import { validateHyperparameters } from "../../src/backends/training-options.js";
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
 * The form field a server error is about: variable coercion names `input.hyperparameters.r`, the service's
 * messages start with the field ("r must be ...", "maxSeqLength 4096 is above ...", "targetModules: ...").
 */
export function fieldOfError(message: string, path?: string): Field | null {
  const fromPath = path && /hyperparameters\.(\w+)/.exec(path)?.[1];
  const fromMessage = /hyperparameters\.(\w+)/.exec(message)?.[1] ?? /^(\w+)\b/.exec(message)?.[1];
  for (const candidate of [fromPath, fromMessage]) {
    if (candidate && candidate in DEFAULT_HYPERPARAMETERS) return candidate as Field;
  }
  return null;
}
