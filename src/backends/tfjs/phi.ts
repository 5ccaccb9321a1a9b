/**
 * Phi (HF `PhiForCausalLM`, transformers' modeling_phi.py) on tfjs, one block per HF module:
 *   x = embed_tokens(ids)
 *   each layer: h = input_layernorm(x); x = dense(attn(h)) + fc2(gelu_new(fc1(h))) + x
 *   logits = lm_head(final_layernorm(x))
 * Hidden states travel as 2-D [B*T, hidden] so every linear is one plain 2-D product (see ops.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { headDim, rotaryDim, type PhiConfig } from "../../model/config.js";
import { UserError } from "../../model/errors.js";
import { attentionBias, defaultPositions, rotaryTables } from "../../model/attention-inputs.js";
import { layerPath, LINEAR_MODULES, linearFeatures, modulePath, type LinearModule } from "../../model/phi-layout.js";
import { batchMatMul, denseWeight, linear, type FrozenWeight } from "./ops.js";
import { nf4Weight } from "./nf4-linear.js";

/** Reads one checkpoint tensor by its HF name, as float32 in the stored layout. */
export type WeightLoader = (name: string) => Promise<Float32Array>;

/** A LoRA (or any) branch: its result is added to the output of the linear layer it is keyed by. */
export type Adapter = (x: tf.Tensor2D) => tf.Tensor2D;

export type Quant = "none" | "nf4";

export interface PhiLoadOptions {
  /** "nf4": the six linears of every layer held as NF4 (embedding and lm_head stay float32, as in QLoRA). */
  quant?: Quant;
  /** Double-quantize the NF4 constants (default true). */
  doubleQuant?: boolean;
}

/** Token ids [B][T]; optional attention mask (1 = token, 0 = padding), position ids and segment ids, all [B][T]. */
export interface TokenBatch {
  inputIds: number[][];
  attentionMask?: number[][];
  positionIds?: number[][];
  /** Packed rows: each token's sequence in its row; attention and default positions stay within one sequence. */
  segmentIds?: number[][];
}

export interface ForwardOptions {
  /** Keyed by HF module path, e.g. "model.layers.0.self_attn.q_proj" or "model.layers.3.mlp.fc1". */
  adapters?: Map<string, Adapter>;
  /** Phi's dropouts are 0 in every published config; adapters read this for their own dropout. */
  training?: boolean;
}

/** Per-batch tensors shared by all layers; `dispose()` when the batch is done. */
export interface LayerContext extends ForwardOptions {
  batch: number;
  seq: number;
  /** Additive attention bias [B, 1, T, T]: 0 where allowed, float32 min where causal, padding or packing masks it. */
  mask: tf.Tensor4D;
  /** Rotary tables [B, T, 1, rot]. */
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
  dispose(): void;
}

interface DecoderLayerWeights {
  lnWeight: tf.Tensor1D;
  lnBias: tf.Tensor1D;
  linears: Record<LinearModule, FrozenWeight>;
}

export class PhiModel {
  private constructor(
    readonly config: PhiConfig,
    readonly quant: Quant,
    private readonly embedTokens: tf.Tensor2D,
    private readonly layers: DecoderLayerWeights[],
    private readonly finalLnWeight: tf.Tensor1D,
    private readonly finalLnBias: tf.Tensor1D,
    private readonly lmHead: FrozenWeight,
  ) {}

  /** Build the model tensor by tensor from `load`; with NF4 each linear is quantized as soon as it is read. */
  static async load(config: PhiConfig, load: WeightLoader, opts: PhiLoadOptions = {}): Promise<PhiModel> {
    const quant = opts.quant ?? "none";
    const h = config.hidden_size, v = config.vocab_size;
    const read = async (name: string, shape: number[]): Promise<Float32Array> => {
      const data = await load(name);
      const n = shape.reduce((a, b) => a * b, 1);
      if (data.length !== n) throw new UserError(`tensor ${name}: expected shape [${shape.join(", ")}] (${n} values), got ${data.length} values`);
      return data;
    };
    // everything built so far, disposed if a later tensor turns out missing or mis-shaped
    const built: { dispose(): void }[] = [];
    const keep = <T extends { dispose(): void }>(t: T): T => (built.push(t), t);
    const linearWeight = async (prefix: string, out: number, inp: number, quantize: boolean): Promise<FrozenWeight> => {
      const w = await read(`${prefix}.weight`, [out, inp]);
      const b = await read(`${prefix}.bias`, [out]);
      return keep(quantize ? nf4Weight(w, out, inp, b, { doubleQuant: opts.doubleQuant ?? true }) : denseWeight(w, out, inp, b));
    };
    const vector = async (name: string, n: number) => keep(tf.tensor1d(await read(name, [n])));
    try {
      const embedData = await read("model.embed_tokens.weight", [v, h]);
      const embedTokens = keep(tf.tensor2d(embedData, [v, h]));
      const layers: DecoderLayerWeights[] = [];
      for (let i = 0; i < config.num_hidden_layers; i++) {
        const p = layerPath(i);
        const linears = {} as Record<LinearModule, FrozenWeight>;
        for (const mod of LINEAR_MODULES) {
          const [inF, outF] = linearFeatures(config, mod);
          linears[mod] = await linearWeight(modulePath(i, mod), outF, inF, quant === "nf4");
        }
        layers.push({ lnWeight: await vector(`${p}.input_layernorm.weight`, h), lnBias: await vector(`${p}.input_layernorm.bias`, h), linears });
      }
      const finalLnWeight = await vector("model.final_layernorm.weight", h);
      const finalLnBias = await vector("model.final_layernorm.bias", h);
      // lm_head stays in full precision (bitsandbytes QLoRA skips it too); tied checkpoints reuse the embedding
      const lmHead = config.tie_word_embeddings
        ? keep(denseWeight(embedData, v, h, await read("lm_head.bias", [v])))
        : await linearWeight("lm_head", v, h, false);
      return new PhiModel(config, quant, embedTokens, layers, finalLnWeight, finalLnBias, lmHead);
    } catch (e) {
      for (const t of built) t.dispose();
      throw e;
    }
  }

  /** Bytes held by the weights: the six linears of every layer, and everything else. */
  weightBytes(): { linears: number; other: number } {
    const h = this.config.hidden_size, v = this.config.vocab_size;
    let linears = 0;
    for (const l of this.layers) for (const mod of LINEAR_MODULES) linears += l.linears[mod].bytes;
    const other = (v * h + this.config.num_hidden_layers * 2 * h + 2 * h) * 4 + this.lmHead.bytes;
    return { linears, other };
  }

  /** Logits [B, T, vocab] for a batch. */
  forward(batch: TokenBatch, opts: ForwardOptions = {}): tf.Tensor3D {
    const ctx = this.context(batch, opts);
    try {
      return tf.tidy(() => {
        let x = this.embed(batch);
        for (let i = 0; i < this.layers.length; i++) x = this.decoderLayer(i, x, ctx);
        return this.logits(x, ctx);
      });
    } finally {
      ctx.dispose();
    }
  }

  /** Validate the batch and build the attention bias and rotary tables for it. */
  context(batch: TokenBatch, opts: ForwardOptions = {}): LayerContext {
    const { inputIds } = batch;
    const B = inputIds.length, T = inputIds[0]?.length ?? 0;
    if (B === 0 || T === 0) throw new UserError("input_ids: expected a non-empty [batch, seq] array");
    const maskRows = batch.attentionMask ?? inputIds.map((row) => row.map(() => 1));
    checkRect("input_ids", inputIds, B, T, (id) => Number.isInteger(id) && id >= 0 && id < this.config.vocab_size, `an integer in [0, ${this.config.vocab_size})`);
    checkRect("attention_mask", maskRows, B, T, (x) => x === 0 || x === 1, "0 or 1");
    if (batch.segmentIds) checkRect("segment_ids", batch.segmentIds, B, T, Number.isInteger, "an integer");
    const positions = batch.positionIds ?? defaultPositions(maskRows, batch.segmentIds);
    checkRect("position_ids", positions, B, T, (p) => Number.isInteger(p) && p >= 0, "a non-negative integer");

    const bias = attentionBias(maskRows, batch.segmentIds);
    const { cos, sin } = rotaryTables(positions, rotaryDim(this.config), this.config.rope_theta);
    const rot = rotaryDim(this.config);
    const mask = tf.tensor4d(bias, [B, 1, T, T]);
    const cosT = tf.tensor4d(cos, [B, T, 1, rot]);
    const sinT = tf.tensor4d(sin, [B, T, 1, rot]);
    return {
      ...opts,
      batch: B,
      seq: T,
      mask,
      cos: cosT,
      sin: sinT,
      dispose: () => tf.dispose([mask, cosT, sinT]),
    };
  }

  /** embed_tokens: [B*T, hidden]. */
  embed(batch: TokenBatch): tf.Tensor2D {
    return tf.tidy(() => tf.gather(this.embedTokens, tf.tensor1d(batch.inputIds.flat(), "int32")));
  }

  /** PhiDecoderLayer: attention and MLP both read input_layernorm(x); their sum joins the residual. */
  decoderLayer(i: number, x: tf.Tensor2D, ctx: LayerContext): tf.Tensor2D {
    return tf.tidy(() => {
      const l = this.layers[i];
      const h = layerNorm(x, l.lnWeight, l.lnBias, this.config.layer_norm_eps);
      const attn = this.attention(i, h, ctx);
      const mlp = this.proj(i, "fc2", geluNew(this.proj(i, "fc1", h, ctx)), ctx);
      return tf.addN([attn, mlp, x]) as tf.Tensor2D;
    });
  }

  /** final_layernorm then lm_head: [B, T, vocab]. */
  logits(x: tf.Tensor2D, ctx: LayerContext): tf.Tensor3D {
    return tf.tidy(() => {
      const h = layerNorm(x, this.finalLnWeight, this.finalLnBias, this.config.layer_norm_eps);
      return linear(h, this.lmHead).reshape([ctx.batch, ctx.seq, this.config.vocab_size]);
    });
  }

  dispose(): void {
    tf.dispose([this.embedTokens, this.finalLnWeight, this.finalLnBias]);
    this.lmHead.dispose();
    for (const l of this.layers) {
      tf.dispose([l.lnWeight, l.lnBias]);
      for (const mod of LINEAR_MODULES) l.linears[mod].dispose();
    }
  }

  /** One linear layer plus the adapter registered under its HF module path. */
  private proj(i: number, mod: LinearModule, x: tf.Tensor2D, ctx: LayerContext): tf.Tensor2D {
    const y = linear(x, this.layers[i].linears[mod]);
    const adapter = ctx.adapters?.get(modulePath(i, mod));
    return adapter ? tf.add(y, adapter(x)) : y;
  }

  /** PhiAttention: partial rotary on q and k, scores / sqrt(head_dim), causal + padding bias, softmax, dense. */
  private attention(i: number, h: tf.Tensor2D, ctx: LayerContext): tf.Tensor2D {
    const { batch: B, seq: T } = ctx;
    const nh = this.config.num_attention_heads, hd = headDim(this.config);
    const heads = (t: tf.Tensor2D) => t.reshape([B, T, nh, hd]) as tf.Tensor4D;
    // [B, T, nh, hd] -> [B*nh, T, hd]
    const perHead = (t: tf.Tensor4D) => t.transpose([0, 2, 1, 3]).reshape([B * nh, T, hd]) as tf.Tensor3D;
    const q = applyRotary(heads(this.proj(i, "q_proj", h, ctx)), ctx.cos, ctx.sin);
    const k = applyRotary(heads(this.proj(i, "k_proj", h, ctx)), ctx.cos, ctx.sin);
    const v = heads(this.proj(i, "v_proj", h, ctx));
    // kᵀ laid out by one transpose, so both products are plain per-head 2-D ones (ops.ts' batchMatMul)
    const kT = k.transpose([0, 2, 3, 1]).reshape([B * nh, hd, T]) as tf.Tensor3D;
    const scores = batchMatMul(perHead(q), kT).mul(1 / Math.sqrt(hd)).reshape([B, nh, T, T]).add(ctx.mask);
    const probs = tf.softmax(scores).reshape([B * nh, T, T]) as tf.Tensor3D;
    const out = batchMatMul(probs, perHead(v)).reshape([B, nh, T, hd]).transpose([0, 2, 1, 3]).reshape([B * T, nh * hd]) as tf.Tensor2D;
    return this.proj(i, "dense", out, ctx);
  }
}

function checkRect(field: string, rows: number[][], B: number, T: number, ok: (x: number) => boolean, expected: string): void {
  if (rows.length !== B) throw new UserError(`${field}: expected ${B} rows, got ${rows.length}`);
  for (let b = 0; b < B; b++) {
    if (rows[b].length !== T) throw new UserError(`${field}[${b}]: expected ${T} values, got ${rows[b].length}`);
    for (let t = 0; t < T; t++) if (!ok(rows[b][t])) throw new UserError(`${field}[${b}][${t}] = ${rows[b][t]}: expected ${expected}`);
  }
}

/**
 * q·cos + rotate_half(q)·sin on the first `rot` dims of each head (rotate_half(x) = cat(-x2, x1)); the rest pass through.
 * Linear in x, so its gradient is written by hand (dy·cos + rotate_half's adjoint of dy·sin, cat(g2, -g1)): a training
 * step keeps no slices or concatenations of it for the backward pass.
 */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const [B, T, nh, hd] = x.shape;
  const rot = cos.shape[3], half = rot / 2;
  const part = (t: tf.Tensor4D, from: number, size: number) => t.slice([0, 0, 0, from], [B, T, nh, size]);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [t, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([cos, sin]); // the tables may be disposed (with their batch's context) before the backward pass runs
    return {
      value: tf.tidy(() => {
        const xRot = rot === hd ? t : part(t, 0, rot);
        const rotated = tf.add(tf.mul(xRot, cos), tf.mul(tf.concat([tf.neg(part(t, half, half)), part(t, 0, half)], 3), sin)) as tf.Tensor4D;
        return rot === hd ? rotated : (tf.concat([rotated, part(t, rot, hd - rot)], 3) as tf.Tensor4D);
      }),
      gradFunc: (dy: tf.Tensor, [cosS, sinS]: tf.Tensor[]) => tf.tidy(() => {
        const d = dy as tf.Tensor4D;
        const dRot = rot === hd ? d : part(d, 0, rot);
        const c = tf.mul(dRot, cosS) as tf.Tensor4D, s = tf.mul(dRot, sinS) as tf.Tensor4D;
        const adjoint = tf.concat([part(s, half, half), tf.neg(part(s, 0, half))], 3);
        const g = tf.add(c, adjoint) as tf.Tensor4D;
        return rot === hd ? g : (tf.concat([g, part(d, rot, hd - rot)], 3) as tf.Tensor4D);
      }),
    };
  });
  return f(x) as tf.Tensor4D;
}

function layerNorm(x: tf.Tensor2D, weight: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), weight), bias) as tf.Tensor2D;
}

/**
 * gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), computed as x·sigmoid(2·√(2/π)·(x + 0.044715·x³)) (the same
 * function: 0.5·(1 + tanh(z)) = sigmoid(2z)) because the wasm engine's sigmoid is vectorized and its tanh is not.
 * Its gradient is written by hand from x alone, so a training step keeps one [tokens, intermediate] tensor per layer
 * for it instead of autodiff's seven.
 */
function geluNew(x: tf.Tensor2D): tf.Tensor2D {
  const k = 2 * Math.sqrt(2 / Math.PI), a = 0.044715;
  const gate = (t: tf.Tensor) => tf.sigmoid(tf.mul(k, tf.add(t, tf.mul(a, tf.mul(t, tf.mul(t, t))))));
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [t, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([t]);
    return {
      value: tf.tidy(() => tf.mul(t, gate(t))),
      // d/dx x·s(u) = s + x·s·(1 − s)·k·(1 + 3a·x²)
      gradFunc: (dy: tf.Tensor, [t0]: tf.Tensor[]) => tf.tidy(() => {
        const s = gate(t0);
        const du = tf.mul(k, tf.add(1, tf.mul(3 * a, tf.square(t0))));
        return tf.mul(dy, tf.add(s, tf.mul(tf.mul(t0, tf.mul(s, tf.sub(1, s))), du)));
      }),
    };
  });
  return f(x) as tf.Tensor2D;
}
