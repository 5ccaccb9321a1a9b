import { describe, expect, it } from "vitest";
import { DEFAULT_HYPERPARAMETERS } from "../../../src/backends/types.js";
import { fieldErrors, fieldOfError, parseNumber } from "../../../web/src/validation.js";

describe("new-run form validation", () => {
  it("accepts the reference job's values", () => {
    expect(fieldErrors({ ...DEFAULT_HYPERPARAMETERS })).toEqual({});
  });

  it("gives every bad field its own message, in the server's words", () => {
    const errors = fieldErrors({ r: 0, loraAlpha: 0, loraDropout: 1, learningRate: -1, batchSize: 1.5, targetModules: [], seed: 1 });
    expect(Object.keys(errors).sort()).toEqual(["batchSize", "learningRate", "loraAlpha", "loraDropout", "r", "targetModules"]);
    expect(errors.r).toBe("r must be an integer in [1, 1024], got 0");
    expect(errors.loraDropout).toBe("loraDropout must be a number in [0, 1), got 1");
    expect(errors.targetModules).toMatch(/^targetModules must be a non-empty list of q_proj, k_proj, v_proj, dense, fc1, fc2/);
  });

  it("accepts the edges the server accepts and rejects unknown modules", () => {
    expect(fieldErrors({ loraDropout: 0, r: 1, batchSize: 1, learningRate: 1e-9 })).toEqual({});
    expect(fieldErrors({ targetModules: ["q_proj", "o_proj"] }).targetModules).toMatch(/has an unknown module "o_proj"/);
  });

  it("shows the text of an input that is not a number", () => {
    expect(parseNumber("2e-4")).toBe(2e-4);
    expect(parseNumber("")).toBe("");
    expect(fieldErrors({ learningRate: parseNumber("abc") }).learningRate).toBe('learningRate must be a number in (0, 10], got "abc"');
  });

  it("finds the field a server error is about", () => {
    expect(fieldOfError("input.hyperparameters.maxSeqLength")).toBe("maxSeqLength");
    expect(fieldOfError("input.hyperparameters.nope")).toBeNull();
    expect(fieldOfError("input.datasetId")).toBeNull();
    expect(fieldOfError(undefined)).toBeNull();
  });
});
