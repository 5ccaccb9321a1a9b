/**
 * Will one training step fit tfjs' wasm heap? The wasm32 heap stops at 4 GiB, and the threaded build hangs instead of
 * throwing when it runs out, so the trainer asks this before it loads the model. The estimate is a conservative fit
 * to heap sizes measured after real steps (hidden 64-512, 2-4 layers, vocab 4096-51200, batch 1-4 × 64-512, with and
 * without checkpointing, nf4 and none; see tests/unit/trainer/heap-budget.test.ts): it came out 2-70 % above every
 * measured heap.
 */
import * as tf from "@tensorflow/tfjs";
import type { PhiConfig } from "../../model/config.js";
import { UserError } from "../../model/errors.js";
import { hyperparameterField } from "../training/validate.js";
import { LINEAR_MODULES, linearFeatures } from "../../model/phi-layout.js";
import type { TargetModule, TrainingHyperparameters } from "../types.js";
import { KEEP_NATURAL_MAX_VALUES } from "./ops.js";

/** wasm32's address space: the threaded build's WebAssembly.Memory maximum. */
export const WASM_HEAP_LIMIT = 4 * 2 ** 30;
/** Share of the limit a job may plan for: the allocator's fragmentation takes the rest. */
export const WASM_HEAP_USABLE = 0.9;
/** Static data, stacks and the thread pool's share of the heap before any tensor. */
export const WASM_BASE_BYTES = 32 * 2 ** 20;

export interface HeapJob {
  batchSize: number;
  /** The longest batch the batcher can produce: min(maxSeqLength, longest sequence). */
  seqLen: number;
  quant: "nf4" | "none";
  gradientCheckpointing: boolean;
  r: number;
  targetModules: readonly TargetModule[];
}

export interface HeapEstimate {
  /** Weights that live in the heap: embedding, lm_head, layer norms, biases, dense linears (quant none), LoRA. */
  weights: number;
  /** The peak of one forward and backward on top of the weights. */
  step: number;
  /** weights + step + WASM_BASE_BYTES. */
  total: number;
}

/** A dense frozen weight (ops.ts denseWeight): Wᵀ, W as well when small enough, and the bias, in floats. */
function denseFloats(inF: number, outF: number): number {
  return inF * outF * (inF * outF <= KEEP_NATURAL_MAX_VALUES ? 2 : 1) + outF;
}

/** Peak wasm heap bytes of one training micro-step of `config` under `job`. */
export function estimateTrainingHeap(config: PhiConfig, job: HeapJob): HeapEstimate {
  const h = config.hidden_size, m = config.intermediate_size, v = config.vocab_size, L = config.num_hidden_layers;
  const N = job.batchSize * job.seqLen;
  const S = job.batchSize * config.num_attention_heads * job.seqLen * job.seqLen; // attention scores
  const features = (t: TargetModule) => linearFeatures(config, t);

  let perLayer = 2 * h; // input_layernorm
  for (const t of LINEAR_MODULES) {
    const [inF, outF] = features(t);
    perLayer += job.quant === "none" ? denseFloats(inF, outF) : outF; // nf4 keeps only the bias in the heap
  }
  for (const t of job.targetModules) {
    const [inF, outF] = features(t);
    perLayer += 4 * job.r * (inF + outF); // Aᵀ, Bᵀ, their gradients and the values assigned after each update
  }
  const weights = v * h + denseFloats(h, v) + 2 * h + L * perLayer;

  // activations the tape keeps for one layer; the factors cover tfjs' intermediates (layer norm, rotary, softmax,
  // gelu_new's five products) and the backward's gradients, fitted to measured heaps
  let layer = 6 * N * h + 18 * N * m + 10 * S;
  for (const t of job.targetModules) {
    const [inF, outF] = features(t);
    layer += 2 * N * (inF + 3 * outF); // dropout mask and output, x·A, ·B, scale, sum
  }
  const logits = 6 * N * v; // logits, log-softmax and their gradients
  const dequantized = job.quant === "nf4" ? 2 * h * m : 0; // one NF4 weight expanded for a product, and its gradient's
  // checkpointing keeps each layer's input and its gradient, and one layer's tape at a time
  const activations = job.gradientCheckpointing ? 2 * L * N * h + layer : L * layer;
  const step = activations + logits + dequantized;
  return { weights: 4 * weights, step: 4 * step, total: 4 * (weights + step) + WASM_BASE_BYTES };
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

/**
 * Throw a UserError when a step of `hp` on `config`, with batches up to `seqLen` tokens, would not fit the wasm heap
 * beside the `usedBytes` already held (by default, tfjs' live tensors).
 */
export function checkWasmHeap(config: PhiConfig, hp: TrainingHyperparameters, seqLen: number, usedBytes = tf.memory().numBytes, limit = WASM_HEAP_LIMIT): HeapEstimate {
  const estimate = estimateTrainingHeap(config, { ...hp, seqLen });
  if (estimate.total + usedBytes > WASM_HEAP_USABLE * limit) {
    // fields as {refs}: the CLI names them --gradient-checkpointing, the API gradientCheckpointing
    const fixes = [hp.gradientCheckpointing ? null : `{${hyperparameterField("gradientCheckpointing")}}`, `a smaller {${hyperparameterField("batchSize")}} or {${hyperparameterField("maxSeqLength")}}`, "or install @tensorflow/tfjs-node"].filter((f) => f !== null);
    const inUse = usedBytes > 0 ? `, ${gib(usedBytes)} GiB already in use` : "";
    const template = `batch ${hp.batchSize} × ${seqLen} tokens needs about ${gib(estimate.total)} GiB of tfjs wasm heap (limit ${gib(limit)} GiB${inUse}): use ${fixes.join(", ")}`;
    throw new UserError("", { field: hyperparameterField("batchSize"), template });
  }
  return estimate;
}
