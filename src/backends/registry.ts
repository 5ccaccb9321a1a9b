import { UserError } from "../model/errors.js";
import type { OnnxBackendOptions } from "./onnx/backend.js";
import type { InferenceBackend, TrainingBackend } from "./types.js";

/** The implementations this build has; each is imported only when first asked for (tfjs and ORT are heavy). */
export const TRAINING_BACKENDS = ["lora"] as const;
export const INFERENCE_BACKENDS = ["onnx"] as const;

export async function trainingBackend(name: string = TRAINING_BACKENDS[0]): Promise<TrainingBackend> {
  if (name === "lora") {
    const { LoraTrainingBackend } = await import("./training/backend.js");
    return new LoraTrainingBackend();
  }
  throw new UserError(`unknown training backend "${name}": expected one of ${TRAINING_BACKENDS.join(", ")}`);
}

export async function inferenceBackend(name: string = INFERENCE_BACKENDS[0], options: Partial<OnnxBackendOptions> = {}): Promise<InferenceBackend> {
  if (name === "onnx") {
    const { OnnxBackend } = await import("./onnx/backend.js");
    return new OnnxBackend(options);
  }
  throw new UserError(`unknown inference backend "${name}": expected one of ${INFERENCE_BACKENDS.join(", ")}`);
}

export interface RegistryOptions {
  training?: string;
  inference?: string;
  onnx?: Partial<OnnxBackendOptions>;
}

/** One backend of each kind per process, created on first use (what services/context.ts calls `Backends`). */
export function createBackends(opts: RegistryOptions = {}): {
  training(): Promise<TrainingBackend>;
  inference(): Promise<InferenceBackend>;
  close(): Promise<void>;
} {
  let training: Promise<TrainingBackend> | undefined;
  let inference: Promise<InferenceBackend> | undefined;
  return {
    training: () => (training ??= trainingBackend(opts.training)),
    inference: () => (inference ??= inferenceBackend(opts.inference, opts.onnx)),
    // the loaded models' worker threads would keep the process alive
    close: async () => {
      if (inference) await (await inference).close();
    },
  };
}
