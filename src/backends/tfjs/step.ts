import * as tf from "@tensorflow/tfjs";
import { batchRows, type Batch } from "../../data/batcher.js";
import { layerPath } from "../../model/phi-layout.js";
import type { LossSum, MicroStepResult } from "../training/step-engine.js";
import { adapterHooks, type LoraLayer } from "./lora.js";
import { shiftLabels } from "../training/labels.js";
import { maskedCrossEntropy } from "./loss.js";
import type { Adapter, LayerContext, PhiModel, TokenBatch } from "./phi.js";

/** The batch as the model reads it: rows of ids, mask and (packed batches) segment ids. */
function tokenBatch(batch: Batch): TokenBatch {
  return {
    inputIds: batchRows(batch.inputIds, batch),
    attentionMask: batchRows(batch.attentionMask, batch),
    segmentIds: batch.segmentIds && batchRows(batch.segmentIds, batch),
  };
}

/**
 * Forward and backward of one micro-batch: `weight` × the mean cross-entropy over its counted positions, and its
 * gradients. `dropoutSeeds` (one per LoRA layer) make the dropout masks reproducible, also when a checkpointed layer
 * recomputes its forward during backward.
 */
export function microStep(
  model: PhiModel,
  lora: LoraLayer[],
  batch: Batch,
  weight: number,
  dropoutSeeds: number[] | null,
  checkpointing: boolean,
): MicroStepResult {
  const { batchSize: B, seqLen: T } = batch;
  const tokens = tokenBatch(batch);
  const { targets, count } = shiftLabels(batch.labels, B, T);
  const adapters = new Map<string, Adapter>(
    lora.map((l, i) => [l.module, (x: tf.Tensor2D) => l.apply(x, dropoutSeeds ? dropoutSeeds[i] : undefined)]),
  );
  const ctx = model.context(tokens, { adapters, training: true });
  const w = count > 0 ? weight / count : 0;
  const loss = (x: tf.Tensor2D) => {
    const logits = tf.reshape(model.logits(x, ctx), [B * T, model.config.vocab_size]) as tf.Tensor2D;
    return maskedCrossEntropy(logits, targets, w);
  };
  try {
    return checkpointing ? recomputingStep(model, lora, tokens, ctx, loss) : plainStep(model, lora, tokens, ctx, loss);
  } finally {
    ctx.dispose();
  }
}

/** The forward of one batch without dropout or tape: Σ cross-entropy over its counted positions (evaluation). */
export function evalLoss(model: PhiModel, lora: LoraLayer[], batch: Batch): LossSum {
  const { batchSize: B, seqLen: T } = batch;
  const tokens = tokenBatch(batch);
  const { targets, count } = shiftLabels(batch.labels, B, T);
  const ctx = model.context(tokens, { adapters: adapterHooks(lora), training: false });
  try {
    const sum = tf.tidy(() => {
      let x = model.embed(tokens);
      for (let i = 0; i < model.config.num_hidden_layers; i++) x = model.decoderLayer(i, x, ctx);
      const logits = tf.reshape(model.logits(x, ctx), [B * T, model.config.vocab_size]) as tf.Tensor2D;
      return maskedCrossEntropy(logits, targets, 1);
    });
    const value = sum.dataSync()[0];
    sum.dispose();
    return { sum: value, count };
  } finally {
    ctx.dispose();
  }
}

type Loss = (x: tf.Tensor2D) => tf.Scalar;

function plainStep(model: PhiModel, lora: LoraLayer[], tokens: TokenBatch, ctx: LayerContext, loss: Loss): MicroStepResult {
  const vars = lora.flatMap((l) => [l.at, l.bt]);
  const { value, grads } = tf.variableGrads(() => {
    let x = model.embed(tokens);
    for (let i = 0; i < model.config.num_hidden_layers; i++) x = model.decoderLayer(i, x, ctx);
    return loss(x);
  }, vars);
  const out = vars.map((v) => grads[v.name].dataSync() as Float32Array);
  const result = { loss: value.dataSync()[0], grads: out };
  tf.dispose([value, ...Object.values(grads)]);
  return result;
}

/**
 * Gradient checkpointing: the forward keeps only each layer's input (no tape, so no activations); the backward
 * walks the layers top-down, recomputing each one's forward to take its vector-Jacobian product with respect to its
 * input and its own LoRA tensors. Same dropout seeds, so the recomputed forward is the one that ran.
 */
function recomputingStep(model: PhiModel, lora: LoraLayer[], tokens: TokenBatch, ctx: LayerContext, loss: Loss): MicroStepResult {
  const L = model.config.num_hidden_layers;
  const inputs: tf.Tensor2D[] = [];
  const top = tf.tidy(() => {
    let x = model.embed(tokens);
    for (let i = 0; i < L; i++) {
      inputs.push(tf.keep(x));
      x = model.decoderLayer(i, x, ctx);
    }
    return x;
  });
  const grads = new Map<tf.Variable, Float32Array>();
  try {
    const { value, grads: [dTop] } = tf.valueAndGrads((x: tf.Tensor) => loss(x as tf.Tensor2D))([top]);
    const lossValue = value.dataSync()[0];
    value.dispose();
    let dx = dTop;
    for (let i = L - 1; i >= 0; i--) {
      const vars = layerVars(lora, i);
      const g = tf.grads((...xs: tf.Tensor[]) => model.decoderLayer(i, xs[0] as tf.Tensor2D, ctx))([inputs[i], ...vars], dx);
      dx.dispose();
      dx = g[0];
      vars.forEach((v, k) => grads.set(v, g[k + 1].dataSync() as Float32Array));
      tf.dispose(g.slice(1));
    }
    dx.dispose();
    return { loss: lossValue, grads: lora.flatMap((l) => [grads.get(l.at)!, grads.get(l.bt)!]) };
  } finally {
    tf.dispose([top, ...inputs]);
  }
}

function layerVars(lora: LoraLayer[], layer: number): tf.Variable[] {
  const prefix = `${layerPath(layer)}.`;
  return lora.filter((l) => l.module.startsWith(prefix)).flatMap((l) => [l.at, l.bt]);
}
