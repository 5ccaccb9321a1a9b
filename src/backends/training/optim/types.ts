/** Adam hyperparameters, TS spelling of torch's (betas, eps, weight_decay). */
export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** One tensor of optimizer state, as it is saved beside a checkpoint (safetensors dtypes). */
export interface StateTensor {
  name: string;
  dtype: "F32" | "U8";
  shape: number[];
  data: Float32Array | Uint8Array;
}

/** An optimizer over flat float32 parameters, updated in place. */
export interface Optimizer {
  /** Updates done so far (torch's `state["step"]`). */
  readonly stepCount: number;
  /** One update of every parameter with its (already clipped) gradient at learning rate `lr`. */
  step(params: Float32Array[], grads: Float32Array[], lr: number): void;
  /** The moments, named `<param index>.<state name>`. */
  state(): StateTensor[];
  /** Restore what `state()` gave, after `stepCount` updates. */
  restore(stepCount: number, tensors: Map<string, Float32Array | Uint8Array>): void;
}

export function stateTensor(tensors: Map<string, Float32Array | Uint8Array>, name: string, length: number, kind: "F32" | "U8"): Float32Array | Uint8Array {
  const t = tensors.get(name);
  const ok = kind === "F32" ? t instanceof Float32Array : t instanceof Uint8Array;
  if (!t || !ok || t.length !== length) {
    throw new Error(`optimizer state ${name}: expected ${kind} of ${length} values, found ${t ? `${t.constructor.name} of ${t.length}` : "none"}`);
  }
  return t;
}
