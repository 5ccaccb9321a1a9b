import { GraphQLError } from "graphql";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { UserError } from "../../../src/model/errors.js";
import { maskError } from "../../../src/server/errors.js";
import { LimitError } from "../../../src/services/errors.js";

function mask(original: unknown) {
  const lines: string[] = [];
  const log = pino({}, { write: (l: string) => lines.push(l) });
  const err = new GraphQLError(original instanceof Error ? original.message : "x", { originalError: original as Error, path: ["q"] });
  return { out: maskError(err.toJSON(), err, log), lines };
}

describe("error masking", () => {
  it("keeps a user's mistake with its code", () => {
    expect(mask(new UserError("r must be an integer >= 1, got 0")).out).toEqual({
      message: "r must be an integer >= 1, got 0",
      path: ["q"],
      extensions: { code: "BAD_USER_INPUT" },
    });
    expect(mask(new UserError("no run x", "NOT_FOUND")).out.extensions).toEqual({ code: "NOT_FOUND" });
    expect(mask(new LimitError("too many")).out.extensions).toEqual({ code: "LIMIT_EXCEEDED" });
    expect(mask(Object.assign(new Error("Unique constraint failed"), { code: "P2002" })).out.extensions).toEqual({ code: "CONFLICT" });
  });

  it("masks anything else and logs it with its stack", () => {
    const { out, lines } = mask(new Error("connection to 10.0.0.5 refused: password for admin"));
    expect(out).toEqual({ message: "Internal server error", path: ["q"], extensions: { code: "INTERNAL_SERVER_ERROR" } });
    expect(lines.join("")).toContain("connection to 10.0.0.5 refused");
    expect(lines.join("")).toContain("stack");
  });
});
