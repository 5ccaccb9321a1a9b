/** The API code a user's mistake answers with. */
export type UserErrorCode = "BAD_USER_INPUT" | "NOT_FOUND" | "CONFLICT";

export interface UserErrorOptions {
  code?: UserErrorCode;
  /** the input the mistake is about, as a path of the operation's input: `hyperparameters.loggingSteps`, `outDir` */
  field?: string;
  /** the message with `{field.path}` references, named by each face (`message` is then ignored) */
  template?: string;
}

/** `{hyperparameters.batchSize}` in a template: a field that each face names its own way; `{{` is a literal `{`. */
const FIELD_REF = /\{\{|\{([A-Za-z][\w.]*)\}/g;

/** Text (user values, paths) to put in a template as it is. */
export const literal = (text: string): string => text.replaceAll("{", "{{");

/** How the API (and anything that does not know better) names a field: its last segment, `loggingSteps`. */
export const apiFieldName = (field: string): string => field.slice(field.lastIndexOf(".") + 1);

/**
 * A mistake in what the user gave us (a flag, a file, a config field, a GraphQL argument).
 * The CLI prints only the message and exits 1; the API maps it to BAD_USER_INPUT (or `code`) with `field` in its
 * extensions. Lower layers name fields in a `template` as `{path}` (see `fieldError`) so that the CLI can say
 * `--logging-steps` where the API says `loggingSteps`: `render` fills them in for one face. (A plain message is
 * never scanned for references: it may quote user text.)
 * Anything else that is thrown is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  readonly code: UserErrorCode;
  readonly field?: string;
  readonly template?: string;

  constructor(message: string, opts: UserErrorCode | UserErrorOptions = {}) {
    const o = typeof opts === "string" ? { code: opts } : opts;
    super(o.template === undefined ? message : renderTemplate(o.template, apiFieldName));
    this.name = "UserError";
    this.code = o.code ?? "BAD_USER_INPUT";
    if (o.field !== undefined) this.field = o.field;
    if (o.template !== undefined) this.template = o.template;
  }

  /** The message with every field named by `name` (a CLI flag, a form label). */
  render(name: (field: string) => string): string {
    return this.template === undefined ? this.message : renderTemplate(this.template, name);
  }

  /** The same mistake, its field seen from one level up (`hyperparameters.r` → `input.hyperparameters.r`). */
  under(prefix: string): UserError {
    const field = this.field === undefined ? undefined : `${prefix}.${this.field}`;
    return new UserError(this.message, { code: this.code, field, template: this.template });
  }
}

function renderTemplate(template: string, name: (field: string) => string): string {
  return template.replace(FIELD_REF, (ref: string, field?: string) => (field === undefined ? "{" : name(field)));
}

/** A UserError about one field, its message starting with the field's name: `{field} must be ...` (`{field}: ...`). */
export function fieldError(field: string, detail: string, code: UserErrorCode = "BAD_USER_INPUT"): UserError {
  return new UserError("", { code, field, template: `{${field}}${detail.startsWith(":") ? "" : " "}${literal(detail)}` });
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
