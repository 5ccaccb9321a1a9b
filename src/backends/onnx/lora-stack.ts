/**
 * The loaded adapters of one step, stacked as an adapter-ready export takes them (model/onnx-names.ts): slot 0 is
 * the empty adapter (zeros, scale 0), slot i + 1 the i-th adapter; ranks padded with zeros to the largest, so a
 * smaller adapter's output is unchanged. Built when the set of adapters in the batch changes, not every step.
 */
import type { PhiConfig } from "../../model/config.js";
import { LORA_SCALES, loraInputName } from "../../model/onnx-names.js";
import type { LoraWeights } from "../../model/peft.js";
import { linearFeatures, modulePath, type LinearModule } from "../../model/phi-layout.js";

/** What an adapter-ready export accepts (its metadata). */
export interface LoraSpec {
  targets: LinearModule[];
  maxRank: number;
}

/** One adapter as the stack needs it: its scale, rank and weights by HF module path. */
export interface StackableAdapter {
  key: string;
  scale: number;
  rank: number;
  weights: ReadonlyMap<string, LoraWeights>;
}

export interface FloatFeed {
  data: Float32Array;
  dims: number[];
}

export class LoraStack {
  private constructor(
    readonly adapters: readonly StackableAdapter[],
    /** Input name → tensor: lora_scales and every targeted linear's stacked A and B. */
    readonly feeds: ReadonlyMap<string, FloatFeed>,
  ) {}

  static build(config: PhiConfig, spec: LoraSpec, adapters: readonly StackableAdapter[]): LoraStack {
    const slots = adapters.length + 1;
    const rank = Math.max(1, ...adapters.map((a) => a.rank));
    const feeds = new Map<string, FloatFeed>();
    feeds.set(LORA_SCALES, { data: Float32Array.from([0, ...adapters.map((a) => a.scale)]), dims: [slots] });
    for (let layer = 0; layer < config.num_hidden_layers; layer++) {
      for (const target of spec.targets) {
        const module = modulePath(layer, target);
        const [inF, outF] = linearFeatures(config, target);
        const a = new Float32Array(inF * slots * rank), b = new Float32Array(slots * rank * outF);
        adapters.forEach((adapter, i) => {
          const w = adapter.weights.get(module);
          if (!w) return; // this adapter leaves this linear alone: its slot stays zero
          const s = i + 1, r = adapter.rank;
          // A [r, in] → Aᵀ at [in, s, k]; B [out, r] → Bᵀ at [s, k, out]
          for (let k = 0; k < r; k++) for (let j = 0; j < inF; j++) a[(j * slots + s) * rank + k] = w.A[k * inF + j];
          for (let o = 0; o < outF; o++) for (let k = 0; k < r; k++) b[(s * rank + k) * outF + o] = w.B[o * r + k];
        });
        feeds.set(loraInputName(module, "A"), { data: a, dims: [inF, slots, rank] });
        feeds.set(loraInputName(module, "B"), { data: b, dims: [slots, rank, outF] });
      }
    }
    return new LoraStack(adapters, feeds);
  }

  /** The slot of an adapter of this stack; 0 for none. */
  slotOf(adapter: StackableAdapter | null): number {
    if (adapter === null) return 0;
    const i = this.adapters.indexOf(adapter);
    if (i < 0) throw new Error(`adapter ${adapter.key} is not in this LoRA stack`);
    return i + 1;
  }

  /**
   * Whether this stack serves these adapters without waste: it holds them all, and at most as many others (slots of
   * finished requests cost a little compute each step; rebuilding costs a copy of every adapter).
   */
  serves(adapters: ReadonlySet<StackableAdapter>): boolean {
    return this.adapters.length <= 2 * adapters.size && [...adapters].every((a) => this.adapters.includes(a));
  }
}
