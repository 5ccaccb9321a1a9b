/**
 * The onnx engine's memory estimate for one training step (its own, not tfjs' heap guard): what it holds (weights:
 * NF4 codes + float absmax or float32; embedding and lm_head in float32; every layer's input kept for the backward
 * pass) plus the peak of one layer's backward graph (the recomputed forward's activations, the attention scores and
 * their gradients, one dequantized weight) and of one head chunk. A deliberate over-estimate: ORT reuses buffers.
 */
import { headDim, type PhiConfig } from "../../../model/config.js";
import { NF4_BLOCK_SIZE } from "../../../model/nf4.js";
import { LINEAR_MODULES, linearFeatures } from "../../../model/phi-layout.js";
import type { TrainingHyperparameters } from "../../training/spec.js";

/** Bytes of one head chunk's logits: the head's [positions, vocab] intermediates stay a few times this. */
export const HEAD_CHUNK_BYTES = 16 * 2 ** 20;

export function onnxTrainingBytes(c: PhiConfig, hp: Pick<TrainingHyperparameters, "batchSize" | "quant" | "r" | "targetModules">, seqLen: number): number {
  const H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size, L = c.num_hidden_layers;
  const N = hp.batchSize * seqLen;
  let linears = 0, largest = 0;
  for (const m of LINEAR_MODULES) {
    const [i, o] = linearFeatures(c, m);
    linears += hp.quant === "nf4" ? i * o / 2 + (i * o / NF4_BLOCK_SIZE) * 4 : i * o * 4;
    largest = Math.max(largest, i * o);
  }
  const weights = L * linears + V * H * 4 * (c.tie_word_embeddings ? 1 : 2);
  const kept = (L + 2) * N * H * 4;
  const heads = c.num_attention_heads;
  const layerPeak = 4 * (8 * N * I + 24 * N * H + 6 * hp.batchSize * heads * seqLen * seqLen + 3 * largest + 4 * N * headDim(c));
  const headPeak = 6 * HEAD_CHUNK_BYTES;
  return weights + kept + layerPeak + headPeak;
}
