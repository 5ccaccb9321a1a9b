/**
 * A mistake in what the user gave us (a flag, a file, a config field, a GraphQL argument).
 * The CLI prints only `message` and exits 1; the API maps it to BAD_USER_INPUT (or `code`).
 * Anything else that is thrown is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly code: "BAD_USER_INPUT" | "NOT_FOUND" | "CONFLICT" = "BAD_USER_INPUT",
  ) {
    super(message);
    this.name = "UserError";
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
