import { dequantizeBlockwise8, dynamicMap, quantizeBlockwise8, type Blockwise8 } from "../../../model/nf4.js";
import { stateTensor, type AdamOptions, type Optimizer, type StateTensor } from "./types.js";

/** bitsandbytes' constants: state blocks of 256 values, and tensors under 4096 elements keep 32-bit state. */
export const STATE_BLOCK = 256;
export const MIN_8BIT_SIZE = 4096;

interface Quantized {
  kind: "8bit";
  state1: Blockwise8;
  state2: Blockwise8;
}
interface Full {
  kind: "32bit";
  state1: Float32Array;
  state2: Float32Array;
}

/**
 * bitsandbytes AdamW8bit (optim_bits 8, block_wise): the moments live as 8-bit codes of the dynamic map (signed for the
 * first moment, unsigned for the second) with one absmax per block of 256, dequantized, updated and requantized each
 * step, as its `kOptimizerStatic8bit2StateBlockwise` kernel does. "Paged" (CUDA unified memory) has no meaning off the GPU.
 */
export class AdamW8bit implements Optimizer {
  private readonly states: (Quantized | Full)[];
  private readonly code1 = dynamicMap(true);
  private readonly code2 = dynamicMap(false);
  stepCount = 0;

  constructor(sizes: number[], private readonly opts: AdamOptions) {
    this.states = sizes.map((n): Quantized | Full => {
      if (n < MIN_8BIT_SIZE) return { kind: "32bit", state1: new Float32Array(n), state2: new Float32Array(n) };
      const zeros = (): Blockwise8 => ({ codes: new Uint8Array(n), absmax: new Float32Array(Math.ceil(n / STATE_BLOCK)), blockSize: STATE_BLOCK });
      return { kind: "8bit", state1: zeros(), state2: zeros() };
    });
  }

  step(params: Float32Array[], grads: Float32Array[], lr: number): void {
    this.stepCount++;
    params.forEach((p, i) => {
      const s = this.states[i];
      if (s.kind === "32bit") return this.update(p, grads[i], s.state1, s.state2, lr);
      const m = dequantizeBlockwise8(s.state1, this.code1);
      const v = dequantizeBlockwise8(s.state2, this.code2);
      this.update(p, grads[i], m, v, lr);
      s.state1 = quantizeBlockwise8(m, this.code1, STATE_BLOCK);
      s.state2 = quantizeBlockwise8(v, this.code2, STATE_BLOCK);
      keepSigns(m, this.code1, s.state1.codes);
    });
  }

  /** The kernel's arithmetic: eps scaled by sqrt(bc2) instead of dividing v, weight decay after the update. */
  private update(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const t = this.stepCount;
    const correction2 = Math.sqrt(1 - beta2 ** t);
    const stepSize = (-lr * correction2) / (1 - beta1 ** t);
    const decay = 1 - lr * weightDecay;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const mi = (m[i] = m[i] * beta1 + (1 - beta1) * gi);
      const vi = (v[i] = v[i] * beta2 + (1 - beta2) * gi * gi);
      const q = p[i] + stepSize * (mi / (Math.sqrt(vi) + correction2 * eps));
      p[i] = weightDecay > 0 ? q * decay : q;
    }
  }

  state(): StateTensor[] {
    return this.states.flatMap((s, i): StateTensor[] => {
      if (s.kind === "32bit") {
        const n = s.state1.length;
        return [
          { name: `${i}.state1`, dtype: "F32", shape: [n], data: s.state1 },
          { name: `${i}.state2`, dtype: "F32", shape: [n], data: s.state2 },
        ];
      }
      const n = s.state1.codes.length;
      return [
        { name: `${i}.state1`, dtype: "U8", shape: [n], data: s.state1.codes },
        { name: `${i}.absmax1`, dtype: "F32", shape: [s.state1.absmax.length], data: s.state1.absmax },
        { name: `${i}.state2`, dtype: "U8", shape: [n], data: s.state2.codes },
        { name: `${i}.absmax2`, dtype: "F32", shape: [s.state2.absmax.length], data: s.state2.absmax },
      ];
    });
  }

  restore(stepCount: number, tensors: Map<string, Float32Array | Uint8Array>): void {
    this.states.forEach((s, i) => {
      if (s.kind === "32bit") {
        const n = s.state1.length;
        s.state1.set(stateTensor(tensors, `${i}.state1`, n, "F32"));
        s.state2.set(stateTensor(tensors, `${i}.state2`, n, "F32"));
        return;
      }
      for (const [state, k] of [[s.state1, 1], [s.state2, 2]] as const) {
        state.codes.set(stateTensor(tensors, `${i}.state${k}`, state.codes.length, "U8"));
        state.absmax.set(stateTensor(tensors, `${i}.absmax${k}`, state.absmax.length, "F32"));
      }
    });
    this.stepCount = stepCount;
  }
}

/** As the kernel does: a first-moment code whose sign differs from the value's moves one step toward it. */
function keepSigns(m: Float32Array, code: Float32Array, q: Uint8Array): void {
  for (let i = 0; i < m.length; i++) {
    if (signbit(code[q[i]]) !== signbit(m[i])) q[i] += m[i] > 0 ? 1 : -1;
  }
}

const signbit = (x: number): boolean => x < 0 || Object.is(x, -0);
