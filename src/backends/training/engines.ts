/**
 * Which engine runs a job's micro-steps (hyperparameter `engine`): `tfjs`, `onnx`, or `auto` = the onnx engine on
 * ORT's CUDA provider when that loads, else tfjs on tensorflow-gpu when installed, else the onnx engine on the CPU.
 * The onnx engine's provider: CUDA when it loads, CPU otherwise; TUNEGRAPH_ORT_PROVIDER=cpu|cuda forces one (cuda
 * where it cannot load is one clear error). Engines are imported only when chosen (tfjs and ORT are heavy).
 */
import { UserError } from "../../model/errors.js";
import type { StepEngineFactory } from "./step-engine.js";
import type { TrainingHyperparameters } from "./spec.js";

export type EngineChoice = TrainingHyperparameters["engine"];
const PROVIDERS = ["cpu", "cuda"] as const;

function forcedProvider(): "cpu" | "cuda" | undefined {
  const v = process.env.TUNEGRAPH_ORT_PROVIDER;
  if (!v) return undefined;
  if (!(PROVIDERS as readonly string[]).includes(v)) throw new UserError(`TUNEGRAPH_ORT_PROVIDER="${v}": expected one of ${PROVIDERS.join(", ")}`);
  return v as "cpu" | "cuda";
}

/** The onnx engine on the provider asked for (TUNEGRAPH_ORT_PROVIDER) or, unasked, on CUDA when it loads. */
async function onnxEngine(): Promise<StepEngineFactory> {
  const { cudaLoads, onnxStepEngine } = await import("../onnx/train/step-engine.js");
  const forced = forcedProvider();
  if (forced === "cpu") return onnxStepEngine("cpu");
  const cuda = await cudaLoads();
  if (forced === "cuda" && !cuda) {
    throw new UserError("TUNEGRAPH_ORT_PROVIDER=cuda: onnxruntime-node cannot load its CUDA provider here (no GPU, or the provider is not installed: its install script fetches it with network access)");
  }
  return onnxStepEngine(cuda ? "cuda" : "cpu");
}

async function tfjsEngine(): Promise<StepEngineFactory> {
  const { initEngine } = await import("../tfjs/engine.js");
  const { tfjsStepEngine } = await import("../tfjs/step-engine.js");
  return tfjsStepEngine(await initEngine());
}

export async function chooseEngine(want: EngineChoice): Promise<StepEngineFactory> {
  if (want === "tfjs") return tfjsEngine();
  const onnx = await onnxEngine();
  if (want === "onnx" || onnx.info.engine === "ort-cuda" || forcedProvider() !== undefined) return onnx;
  const { tensorflowGpuInstalled } = await import("../tfjs/engine.js");
  return (await tensorflowGpuInstalled()) ? tfjsEngine() : onnx;
}
