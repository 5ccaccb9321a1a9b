import os from "node:os";
import { describe, expect, it } from "vitest";
import { savedActivationBytes } from "../../../src/backends/onnx/train/layer-graph.js";
import { checkOnnxMemory, onnxTrainingBytes } from "../../../src/backends/onnx/train/memory.js";
import { onnxStepEngine } from "../../../src/backends/onnx/train/step-engine.js";
import { DEFAULT_HYPERPARAMETERS } from "../../../src/backends/types.js";
import { cliFieldName } from "../../../src/cli/fields.js";
import { presetConfig } from "../../../src/model/config.js";
import { UserError } from "../../../src/model/errors.js";

const phi2 = presetConfig("phi-2");
const GiB = 2 ** 30;
// the reference job: NF4 phi-2 at 4 × 512, LoRA r 8 on q_proj and v_proj
const reference = { ...DEFAULT_HYPERPARAMETERS, batchSize: 4, maxSeqLength: 512 };
const saving = { ...reference, gradientCheckpointing: false };
const checkpointing = { ...reference, gradientCheckpointing: true };

function thrown(f: () => void): UserError {
  try {
    f();
  } catch (e) {
    return e as UserError;
  }
  throw new Error("did not throw");
}

describe("onnx engine memory estimate", () => {
  it("counts every layer's saved activations without gradient checkpointing: q, k, v and fc1's products", () => {
    const perLayer = savedActivationBytes(phi2, 4, 512);
    expect(perLayer).toBe(4 * 4 * 512 * (3 * 2560 + 10240));
    expect(onnxTrainingBytes(phi2, saving, 512) - onnxTrainingBytes(phi2, checkpointing, 512)).toBe(32 * perLayer);
    // and they follow the batch's tokens
    expect(onnxTrainingBytes(phi2, saving, 256) - onnxTrainingBytes(phi2, checkpointing, 256)).toBe(16 * perLayer);
  });

  it("the reference job: a few GiB with checkpointing, about 4.4 GiB more without; a 24 GiB machine takes both", () => {
    const ckpt = onnxTrainingBytes(phi2, checkpointing, 512) / GiB, saved = onnxTrainingBytes(phi2, saving, 512) / GiB;
    expect(ckpt).toBeGreaterThan(2);
    expect(ckpt).toBeLessThan(9);
    expect(saved - ckpt).toBeCloseTo(4.375, 3);
    expect(saved).toBeLessThan(0.9 * 24);
    expect(() => checkOnnxMemory(phi2, saving, 512, 24 * GiB)).not.toThrow();
    // full precision doubles-and-more the weights
    expect(onnxTrainingBytes(phi2, { ...checkpointing, quant: "none" }, 512)).toBeGreaterThan(ckpt * GiB + 8 * GiB);
  });

  it("refuses in one line what would not fit, naming gradientCheckpointing where that makes it fit", () => {
    const need = onnxTrainingBytes(phi2, saving, 512), ckpt = onnxTrainingBytes(phi2, checkpointing, 512);
    const have = (need + ckpt) / 2 / 0.9; // checkpointing fits, saving does not
    expect(() => checkOnnxMemory(phi2, checkpointing, 512, have)).not.toThrow();
    const err = thrown(() => checkOnnxMemory(phi2, saving, 512, have));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^the onnx engine needs about \d+\.\d GiB for this job \(batch 4 × 512 tokens, quant nf4\); this machine has \d+\.\d GiB: use gradientCheckpointing \(about \d+\.\d GiB\) or lower batchSize or maxSeqLength$/);
    expect(err.field).toBe("hyperparameters.gradientCheckpointing");
    expect(err.render(cliFieldName)).toMatch(/: use --gradient-checkpointing \(about \d+\.\d GiB\) or lower --batch-size or --max-seq-len$/);
    // where checkpointing is on, or would not be enough, only the batch's size is named
    const small = ckpt / 2 / 0.9;
    for (const hp of [saving, checkpointing]) {
      const e = thrown(() => checkOnnxMemory(phi2, hp, 512, small));
      expect(e.message).toMatch(/; this machine has \d+\.\d GiB: lower batchSize or maxSeqLength$/);
      expect(e.field).toBe("hyperparameters.batchSize");
    }
  });

  it("the engine checks this machine: a batch of 512 × 2048 tokens fits nowhere", () => {
    const engine = onnxStepEngine("cpu");
    if (onnxTrainingBytes(phi2, saving, 512) < 0.9 * os.totalmem()) expect(() => engine.checkFits(phi2, saving, 512)).not.toThrow();
    const huge = { ...reference, batchSize: 512, maxSeqLength: 2048 };
    expect(() => engine.checkFits(phi2, huge, 2048)).toThrow(/^the onnx engine needs about \d+\.\d GiB for this job \(batch 512 × 2048 tokens, quant nf4\); this machine has \d+\.\d GiB: lower batchSize or maxSeqLength$/);
  });
});
