import { describe, expect, it } from "vitest";
import { validateHyperparameters } from "../../../src/backends/training/validate.js";
import { DEFAULT_HYPERPARAMETERS } from "../../../src/backends/types.js";
import { presetConfig } from "../../../src/model/config.js";
import { UserError } from "../../../src/model/errors.js";

function message(input: Record<string, unknown>): string {
  try {
    validateHyperparameters(input, presetConfig("tiny"));
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error("accepted");
}

describe("validateHyperparameters", () => {
  it("fills the reference job's defaults", () => {
    expect(validateHyperparameters({})).toEqual(DEFAULT_HYPERPARAMETERS);
    const hp = validateHyperparameters({ r: 4, targetModules: ["v_proj", "q_proj", "q_proj", "fc2"] });
    expect(hp.r).toBe(4);
    expect(hp.targetModules).toEqual(["q_proj", "v_proj", "fc2"]);
  });

  it.each([
    [{ r: 0 }, "r must be an integer in [1, 1024], got 0"],
    [{ r: 2.5 }, "r must be an integer in [1, 1024], got 2.5"],
    [{ loraAlpha: 0 }, "loraAlpha must be a number in (0, 1000000], got 0"],
    [{ loraDropout: 1 }, "loraDropout must be a number in [0, 1), got 1"],
    [{ loraDropout: -0.1 }, "loraDropout must be a number in [0, 1), got -0.1"],
    [{ learningRate: 0 }, "learningRate must be a number in (0, 10], got 0"],
    [{ batchSize: 0 }, "batchSize must be an integer in [1, 4096], got 0"],
    [{ optim: "sgd" }, 'optim must be one of adamw, adamw8bit, got "sgd"'],
    [{ scheduler: "step" }, 'scheduler must be one of constant, linear, cosine, got "step"'],
    [{ targetModules: ["q_proj", "o_proj"] }, 'targetModules has an unknown module "o_proj": expected any of q_proj, k_proj, v_proj, dense, fc1, fc2'],
    [{ targetModules: [] }, "targetModules must be a non-empty list"],
    [{ maxSeqLength: 4096 }, "maxSeqLength 4096 is above the model's max_position_embeddings (512)"],
    [{ rank: 8 }, 'rank is not a hyperparameter'],
    [{ warmupRatio: 2 }, "warmupRatio must be a number in [0, 1], got 2"],
    [{ epochs: 1e9, maxSteps: 0 }, "epochs must be a number in (0, 1000000], got 1000000000"],
    [{ seed: 2 ** 31 }, "seed must be an integer in [0, 2147483647], got 2147483648"],
    [{ maxGradNorm: Infinity }, "maxGradNorm must be a number in [0, 1000000], got null"],
  ])("%j → one clear error", (input, expected) => {
    expect(message(input)).toContain(expected);
  });
});
