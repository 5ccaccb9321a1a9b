/**
 * The onnx engine's memory estimate for one training step (its own, not tfjs' heap guard): what it holds (weights:
 * NF4 codes + float absmax or float32; embedding and lm_head in float32; every layer's input kept for the backward
 * pass and, without gradient checkpointing, every layer's saved activations) plus what the sessions' arenas keep: each
 * ORT session holds its own arena at its largest run, so the layer forward's and the layer backward's are held at once
 * (each counted at the backward graph's peak: the forward's activations, recomputed or restored, the attention scores
 * and their gradients, one dequantized weight), and the head's at one chunk's. Measured on phi-2's shapes at 4 × 512
 * (NF4): peak RSS 6.4 GiB with 8 layers and 8.0 with 16 without checkpointing (estimated 7.7 and 9.3: 0.2 GiB a
 * layer, as measured), 6.4 GiB with 8 layers and checkpointing (estimated 6.6, the runtime's share included). A job
 * over 90 % of the machine's memory is refused in one line that names the fields that would make it fit.
 */
import os from "node:os";
import { headDim, type PhiConfig } from "../../../model/config.js";
import { UserError } from "../../../model/errors.js";
import { NF4_BLOCK_SIZE } from "../../../model/nf4.js";
import { LINEAR_MODULES, linearFeatures } from "../../../model/phi-layout.js";
import type { TrainingHyperparameters } from "../../training/spec.js";
import { hyperparameterField } from "../../training/validate.js";
import { savedActivationBytes } from "./layer-graph.js";

/**
 * Bytes of one head chunk's logits: the head's [positions, vocab] intermediates stay a few times this. Each chunk
 * streams the whole lm_head twice (its two products), so larger chunks run faster: on the mid bench config the head
 * took ~600 ms a step in chunks of 16 MiB (81 positions at vocab 51,200), ~480 ms at 64 MiB, and no less above.
 */
export const HEAD_CHUNK_BYTES = 64 * 2 ** 20;
/** Node, ORT and the arenas' rounding beyond their largest runs. */
const RUNTIME_BYTES = 2 ** 29;
/** Share of the machine's memory a job may plan for. */
const USABLE = 0.9;

type MemoryJob = Pick<TrainingHyperparameters, "batchSize" | "quant" | "r" | "targetModules" | "gradientCheckpointing">;

export function onnxTrainingBytes(c: PhiConfig, hp: MemoryJob, seqLen: number): number {
  const H = c.hidden_size, I = c.intermediate_size, V = c.vocab_size, L = c.num_hidden_layers;
  const N = hp.batchSize * seqLen;
  let linears = 0, largest = 0;
  for (const m of LINEAR_MODULES) {
    const [i, o] = linearFeatures(c, m);
    linears += hp.quant === "nf4" ? i * o / 2 + (i * o / NF4_BLOCK_SIZE) * 4 : i * o * 4;
    largest = Math.max(largest, i * o);
  }
  const weights = L * linears + V * H * 4 * (c.tie_word_embeddings ? 1 : 2);
  const saved = hp.gradientCheckpointing ? 0 : L * savedActivationBytes(c, hp.batchSize, seqLen);
  const kept = (L + 2) * N * H * 4 + saved;
  const heads = c.num_attention_heads;
  const layerPeak = 4 * (8 * N * I + 24 * N * H + 6 * hp.batchSize * heads * seqLen * seqLen + 3 * largest + 4 * N * headDim(c));
  const headPeak = 6 * HEAD_CHUNK_BYTES;
  return RUNTIME_BYTES + weights + kept + 2 * layerPeak + headPeak;
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

/** Throw a UserError when a step of `hp` on `c`, with batches up to `seqLen` tokens, would not fit `have` bytes. */
export function checkOnnxMemory(c: PhiConfig, hp: TrainingHyperparameters, seqLen: number, have = os.totalmem()): void {
  const need = onnxTrainingBytes(c, hp, seqLen);
  if (need <= USABLE * have) return;
  // checkpointing as the fix only where it makes the job fit
  const checkpointed = hp.gradientCheckpointing ? Infinity : onnxTrainingBytes(c, { ...hp, gradientCheckpointing: true }, seqLen);
  const fixable = checkpointed <= USABLE * have;
  // fields as {refs}: the CLI names them --gradient-checkpointing, the API gradientCheckpointing
  const gc = hyperparameterField("gradientCheckpointing"), batch = hyperparameterField("batchSize");
  const smaller = `lower {${batch}} or {${hyperparameterField("maxSeqLength")}}`;
  const fix = fixable ? `use {${gc}} (about ${gib(checkpointed)} GiB) or ${smaller}` : smaller;
  const template = `the onnx engine needs about ${gib(need)} GiB for this job (batch ${hp.batchSize} × ${seqLen} tokens, quant ${hp.quant}); this machine has ${gib(have)} GiB: ${fix}`;
  throw new UserError("", { field: fixable ? gc : batch, template });
}
