import { headDim, rotaryDim, type PhiConfig } from "../../../model/config.js";
import { ATTENTION_MASK, INPUT_IDS, LOGITS, pastName, POSITION_IDS, presentName } from "../../../model/onnx-names.js";
import { layerPath, linearFeatures, modulePath, type LinearModule } from "../../../model/phi-layout.js";
import { attr, BOOL, FLOAT, FLOAT16, GraphBuilder, INT64, UINT8 } from "./graph.js";
import { quantizeInt4 } from "./int4.js";
import { LoraGraph, type LoraOptions } from "./lora-graph.js";
import type { Precision } from "../../types.js";

/** Anything that yields HF Phi tensors by name as float32 (a `Checkpoint`, or weights in memory in tests). */
export interface WeightSource {
  config: PhiConfig;
  read(name: string): Promise<Float32Array>;
}

/**
 * MatMulNBits' block along K: 128 by default (onnxruntime-genai's builder uses 32). On phi-2 it reads 15% fewer bytes a
 * token than 32, and only at 128 do decode and prefill reach llama.cpp's Q4_0 on the same weights (bench/README.md);
 * its logits stay within the int4 bound against fp32 (int4-accuracy.test.ts). 16–128, a power of two.
 */
export const INT4_BLOCK_SIZE = 128;
// 256 is not offered: on the accuracy test's model its logits leave the int4 bound against fp32 (int4-accuracy.test.ts)
export const INT4_BLOCK_SIZES: readonly number[] = [16, 32, 64, 128];
export const INT4_ACCURACY_LEVEL = 4;
const MS = "com.microsoft";
const NEG_INF = -3.4028234663852886e38; // float32 min, as HF masks

export interface PhiGraphOptions {
  precision: Precision;
  /**
   * com.microsoft fused ops: RotaryEmbedding + MultiHeadAttention (past in, present out, the same additive
   * causal + padding mask) and SkipLayerNormalization for the residual; otherwise plain ONNX ops throughout.
   * Not GroupQueryAttention: it keeps each row's cache right-aligned by seqlens_k, which the left-padded
   * attention_mask of transformers.js and of our batcher does not describe.
   */
  fused: boolean;
  /** Element type of past_key_values / present: float16 halves the cache and what every step copies. */
  kvCache: KvCacheType;
  /** int4 only: weights per scale. Larger blocks read fewer scale bytes and let ORT's multi-row kernel run faster. */
  blockSize?: number;
  /** Adapter-ready: these linears add scale · (x·Aᵀ)·Bᵀ with A, B and the scale from graph inputs (lora-graph.ts). */
  lora?: LoraOptions;
  onTensor?: (name: string) => void;
}

export type KvCacheType = "float32" | "float16";
// a masked score in a float16 attention: far below any real one, and never -inf after adding a score
const HALF_MASKED = -10000;

/**
 * PhiForCausalLM with a KV cache (opset 17, com.microsoft FastGelu, MatMulNBits for int4, and the fused ops above).
 * Mirrors HF modeling_phi: parallel attention and MLP on one LayerNorm, partial rotary (non-interleaved), biases on
 * every linear layer, softmax over a causal + padding mask (in float32, or float16 with a float16 cache). Plain and
 * fused variants take and give the same tensors.
 */
export async function buildPhiGraph(g: GraphBuilder, src: WeightSource, opts: PhiGraphOptions): Promise<void> {
  const { precision, fused, onTensor } = opts;
  const blockSize = opts.blockSize ?? INT4_BLOCK_SIZE;
  const kv16 = opts.kvCache === "float16";
  const kvType = kv16 ? FLOAT16 : FLOAT;
  const c = src.config;
  const h = c.hidden_size, nh = c.num_attention_heads, d = headDim(c), rot = rotaryDim(c);
  const read = async (name: string) => {
    const t = await src.read(name);
    onTensor?.(name);
    return t;
  };

  const inputIds = g.input(INPUT_IDS, INT64, ["batch_size", "sequence_length"]);
  const attentionMask = g.input(ATTENTION_MASK, INT64, ["batch_size", "total_sequence_length"]);
  const positionIds = g.input(POSITION_IDS, INT64, ["batch_size", "sequence_length"]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    g.input(pastName(i, "key"), kvType, ["batch_size", nh, "past_sequence_length", d]);
    g.input(pastName(i, "value"), kvType, ["batch_size", nh, "past_sequence_length", d]);
  }

  const lora = opts.lora ? new LoraGraph(g) : null;
  const targets = new Set(opts.lora?.targets ?? []);

  const linear = async (x: string, prefix: string, [inF, outF]: [number, number], gelu = false, adapted = false): Promise<string> => {
    const w = await read(`${prefix}.weight`);
    const bias = await g.weight(`${prefix}.bias`, FLOAT, [outF], await read(`${prefix}.bias`));
    let y: string;
    if (precision === "int4") {
      const q = quantizeInt4(w, outF, inF, blockSize);
      const b = await g.weight(`${prefix}.weight_Q4`, UINT8, [outF, q.blocks, blockSize / 2], q.packed);
      const s = await g.weight(`${prefix}.weight_scales`, FLOAT, [outF * q.blocks], q.scales);
      y = g.op("MatMulNBits", [x, b, s], {
        K: attr.int(inF), N: attr.int(outF), bits: attr.int(4), block_size: attr.int(blockSize), accuracy_level: attr.int(INT4_ACCURACY_LEVEL),
      }, MS);
    } else {
      y = g.op("MatMul", [x, await g.weight(`${prefix}.weight_T`, FLOAT, [inF, outF], transpose(w, outF, inF))]);
    }
    if (adapted && lora) y = g.op("Add", [y, lora.branch(x, prefix, inF, outF)]);
    // FastGelu is gelu_new (the tanh approximation) with the bias add fused
    return gelu ? g.op("FastGelu", [y, bias], {}, MS) : g.op("Add", [y, bias]);
  };
  const layerLinear = (x: string, layer: number, mod: LinearModule, gelu = false) => linear(x, modulePath(layer, mod), linearFeatures(c, mod), gelu, targets.has(mod));
  const normWeights = async (prefix: string) => [
    await g.weight(`${prefix}.weight`, FLOAT, [h], await read(`${prefix}.weight`)),
    await g.weight(`${prefix}.bias`, FLOAT, [h], await read(`${prefix}.bias`)),
  ];
  /** LayerNorm of residual + branches; returns [normalized, the new residual stream]. */
  const addAndNorm = async (residual: string, branches: string | null, prefix: string): Promise<[string, string]> => {
    const [gamma, beta] = await normWeights(prefix);
    if (branches === null) return [g.op("LayerNormalization", [residual, gamma, beta], { axis: attr.int(-1), epsilon: attr.float(c.layer_norm_eps) }), residual];
    if (fused) {
      const outs = g.node("SkipLayerNormalization", [branches, residual, gamma, beta], { epsilon: attr.float(c.layer_norm_eps) }, { domain: MS, outputs: 4 });
      return [outs[0], outs[3]];
    }
    const sum = g.op("Add", [branches, residual]);
    return [g.op("LayerNormalization", [sum, gamma, beta], { axis: attr.int(-1), epsilon: attr.float(c.layer_norm_eps) }), sum];
  };

  // shared by every layer: the mask [B, 1, S, T] (key j visible from query i when j <= past + i and not padding)
  const seqLen = g.op("Shape", [inputIds], { start: attr.int(1), end: attr.int(2) });
  const totalLen = g.op("Shape", [attentionMask], { start: attr.int(1), end: attr.int(2) });
  const scalar = (t: string) => g.op("Squeeze", [t, g.ints([0])]);
  const rows = g.op("Unsqueeze", [g.op("Range", [scalar(g.op("Sub", [totalLen, seqLen])), scalar(totalLen), g.ints([1], true)]), g.ints([1])]);
  const cols = g.op("Unsqueeze", [g.op("Range", [g.ints([0], true), scalar(totalLen), g.ints([1], true)]), g.ints([0])]);
  const causal = g.op("LessOrEqual", [cols, rows]);
  const padding = g.op("Unsqueeze", [g.op("Cast", [attentionMask], { to: attr.int(BOOL) }), g.ints([1, 2])]);
  const visible = g.op("And", [causal, padding]);
  const maskBias = !fused ? "" : kv16
    ? g.op("Where", [visible, g.halfs([0], true), g.halfs([HALF_MASKED], true)])
    : g.op("Where", [visible, g.floats([0], true), g.floats([NEG_INF], true)]);
  const cast = (t: string, to: number) => g.op("Cast", [t], { to: attr.int(to) });

  const { cos, sin } = rotaryTables(c.max_position_embeddings, rot, c.rope_theta);
  const cosCache = g.constant(FLOAT, [c.max_position_embeddings, rot / 2], cos);
  const sinCache = g.constant(FLOAT, [c.max_position_embeddings, rot / 2], sin);
  // plain rotary: tables [B, 1, S, rot/2] gathered by position, applied to [B, H, S, D]
  const gatherTable = (t: string) => g.op("Unsqueeze", [g.op("Gather", [t, positionIds]), g.ints([1])]);
  const cosB = fused ? "" : gatherTable(cosCache), sinB = fused ? "" : gatherTable(sinCache);
  const slice = (t: string, from: number, to: number) => g.op("Slice", [t, g.ints([from]), g.ints([to]), g.ints([3])]);
  const rotary = (t: string) => {
    const x1 = slice(t, 0, rot / 2), x2 = slice(t, rot / 2, rot);
    const r1 = g.op("Sub", [g.op("Mul", [x1, cosB]), g.op("Mul", [x2, sinB])]);
    const r2 = g.op("Add", [g.op("Mul", [x2, cosB]), g.op("Mul", [x1, sinB])]);
    return g.op("Concat", rot === d ? [r1, r2] : [r1, r2, slice(t, rot, d)], { axis: attr.int(3) });
  };
  const fusedRotary = (t: string) => g.op("RotaryEmbedding", [t, positionIds, cosCache, sinCache], {
    interleaved: attr.int(0), num_heads: attr.int(nh), rotary_embedding_dim: attr.int(rot),
  }, MS);
  const heads = (t: string) => g.op("Transpose", [g.op("Reshape", [t, g.ints([0, 0, nh, d])])], { perm: attr.ints([0, 2, 1, 3]) });

  /** Attention of layer i on [B, S, hidden] projections; writes present.i.key/value, returns the context [B, S, hidden]. */
  const attention = (i: number, qIn: string, kIn: string, vIn: string): string => {
    const present = [presentName(i, "key"), presentName(i, "value")];
    for (const name of present) g.output(name, kvType, ["batch_size", nh, "total_sequence_length", d]);
    if (fused) {
      // with a float16 cache the whole attention runs in float16: only the new tokens' q, k, v and context are cast
      const inputs = [fusedRotary(qIn), fusedRotary(kIn), vIn].map((t) => (kv16 ? cast(t, FLOAT16) : t));
      const context = g.node("MultiHeadAttention", [...inputs, "", "", maskBias, pastName(i, "key"), pastName(i, "value")],
        { num_heads: attr.int(nh) }, { domain: MS, outputs: [`/mha_${i}/out`, ...present] })[0];
      return kv16 ? cast(context, FLOAT) : context;
    }
    const q = rotary(heads(qIn)), k = rotary(heads(kIn)), v = heads(vIn);
    const append = (past: string, t: string, name: string) => {
      if (!kv16) return g.node("Concat", [past, t], { axis: attr.int(2) }, { outputs: [name] })[0];
      const all = g.op("Concat", [cast(past, FLOAT), t], { axis: attr.int(2) });
      g.node("Cast", [all], { to: attr.int(FLOAT16) }, { outputs: [name] });
      return all;
    };
    const keys = append(pastName(i, "key"), k, present[0]);
    const values = append(pastName(i, "value"), v, present[1]);
    const scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [keys], { perm: attr.ints([0, 1, 3, 2]) })]), g.floats([1 / Math.sqrt(d)], true)]);
    const probs = g.op("Softmax", [g.op("Where", [visible, scores, g.floats([NEG_INF], true)])], { axis: attr.int(-1) });
    return g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, values])], { perm: attr.ints([0, 2, 1, 3]) }), g.ints([0, 0, h])]);
  };

  const embed = await g.weight("model.embed_tokens.weight", FLOAT, [c.vocab_size, h], await read("model.embed_tokens.weight"));
  let residual = g.op("Gather", [embed, inputIds]);
  let branches: string | null = null;

  for (let i = 0; i < c.num_hidden_layers; i++) {
    const [x, stream] = await addAndNorm(residual, branches, `${layerPath(i)}.input_layernorm`);
    residual = stream;
    const q = await layerLinear(x, i, "q_proj");
    const k = await layerLinear(x, i, "k_proj");
    const v = await layerLinear(x, i, "v_proj");
    const attnOut = await layerLinear(attention(i, q, k, v), i, "dense");
    const mlpOut = await layerLinear(await layerLinear(x, i, "fc1", true), i, "fc2");
    branches = g.op("Add", [attnOut, mlpOut]);
  }

  const [final] = await addAndNorm(residual, branches, "model.final_layernorm");
  g.node("Identity", [await linear(final, "lm_head", [h, c.vocab_size])], {}, { outputs: [LOGITS] });
  g.output(LOGITS, FLOAT, ["batch_size", "sequence_length", c.vocab_size]);
}

/** cos/sin of position · inv_freq for the first rot/2 frequencies, as HF's PhiRotaryEmbedding computes them. */
export function rotaryTables(maxPositions: number, rot: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = rot / 2;
  const cos = new Float32Array(maxPositions * half), sin = new Float32Array(maxPositions * half);
  for (let j = 0; j < half; j++) {
    const invFreq = Math.fround(1 / Math.pow(theta, (2 * j) / rot));
    for (let pos = 0; pos < maxPositions; pos++) {
      const angle = Math.fround(pos * invFreq);
      cos[pos * half + j] = Math.cos(angle);
      sin[pos * half + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let col = 0; col < cols; col++) t[col * rows + r] = w[r * cols + col];
  return t;
}
