import { UserError } from "../model/errors.js";

/** A display name: 1–100 characters of letters, digits, `.`, `_`, `-`; and not yet taken. */
export async function uniqueName(name: string, field: string, existing: (name: string) => Promise<unknown>): Promise<void> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name)) {
    throw new UserError(`${field} must be 1-100 letters, digits, ".", "_" or "-" (starting with a letter or digit), got ${JSON.stringify(name)}`);
  }
  if (await existing(name)) throw new UserError(`${field}: "${name}" is already taken`, "CONFLICT");
}
