import { describe, expect, it } from "vitest";
import { createBackends, inferenceBackend, trainingBackend } from "../../../src/backends/registry.js";
import { UserError } from "../../../src/model/errors.js";

describe("backend registry", () => {
  it("picks the LoRA trainer (engine per job) for training and onnx for inference, once per process", async () => {
    const backends = createBackends({ onnx: { threads: 1 } });
    const inference = await backends.inference();
    expect(inference.name).toBe("onnx");
    expect(await backends.inference()).toBe(inference);
    expect(await inference.describe()).toEqual({ backend: "onnx", engine: "ort-cpu", device: "cpu", threads: 1 });
    const training = await trainingBackend();
    expect(training.name).toBe("lora");
    // engine auto here (no CUDA provider, no tfjs-node-gpu): the onnx engine on the CPU
    expect(await training.describe()).toMatchObject({ backend: "onnx", engine: "ort-cpu", device: "cpu" });
  });

  it("names the choices for an unknown backend", async () => {
    await expect(inferenceBackend("tensorrt")).rejects.toThrow(UserError);
    await expect(inferenceBackend("tensorrt")).rejects.toThrow(/expected one of onnx/);
    await expect(trainingBackend("torch")).rejects.toThrow(/expected one of lora/);
  });
});
