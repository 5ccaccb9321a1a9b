import { UserError } from "../model/errors.js";

/** Bounds of the API's page sizes (`first`, `last`): beyond them a request is a mistake, not a bigger page. */
export const PAGE_LIMITS = {
  runs: 100,
  metrics: 10_000,
  logs: 1_000,
  generations: 100,
} as const;

/** `name` (e.g. "metrics: last") must be an integer in 1..max. */
export function checkPageSize(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new UserError(`${name} must be between 1 and ${max}, got ${value}`);
}

/** A step to start after: 0 or more. */
export function checkStep(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new UserError(`${name} must be 0 or more, got ${value}`);
}
