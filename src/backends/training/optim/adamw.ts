import { stateTensor, type AdamOptions, type Optimizer, type StateTensor } from "./types.js";

/**
 * One AdamW update of `p` as torch.optim.AdamW does it: decoupled weight decay `p *= 1 - lr*wd` first, then
 * bias-corrected moments, `p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)`. `t` is the 1-based step.
 */
export function adamwUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, t: number, o: AdamOptions): void {
  const { beta1, beta2, eps } = o;
  const decay = 1 - lr * o.weightDecay;
  const stepSize = lr / (1 - beta1 ** t);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const mi = (m[i] = beta1 * m[i] + (1 - beta1) * gi);
    const vi = (v[i] = beta2 * v[i] + (1 - beta2) * gi * gi);
    p[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
}

/** torch.optim.AdamW with 32-bit moments. */
export class AdamW implements Optimizer {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  stepCount = 0;

  constructor(sizes: number[], private readonly opts: AdamOptions) {
    this.m = sizes.map((n) => new Float32Array(n));
    this.v = sizes.map((n) => new Float32Array(n));
  }

  step(params: Float32Array[], grads: Float32Array[], lr: number): void {
    this.stepCount++;
    params.forEach((p, i) => adamwUpdate(p, grads[i], this.m[i], this.v[i], lr, this.stepCount, this.opts));
  }

  state(): StateTensor[] {
    return this.m.flatMap((m, i) => [
      { name: `${i}.exp_avg`, dtype: "F32" as const, shape: [m.length], data: m },
      { name: `${i}.exp_avg_sq`, dtype: "F32" as const, shape: [m.length], data: this.v[i] },
    ]);
  }

  restore(stepCount: number, tensors: Map<string, Float32Array | Uint8Array>): void {
    this.m.forEach((m, i) => m.set(stateTensor(tensors, `${i}.exp_avg`, m.length, "F32")));
    this.v.forEach((v, i) => v.set(stateTensor(tensors, `${i}.exp_avg_sq`, v.length, "F32")));
    this.stepCount = stepCount;
  }
}
