/**
 * One PhiDecoderLayer as ONNX graphs for training (the math of ../../tfjs/phi.ts, op for op in the same order, so the
 * two engines agree to float32 rounding):
 *   forward:  x → h = input_layernorm(x); y = dense(attn(h)) + fc2(gelu_new(fc1(h))) + x
 *   backward: (x, dy) → dx and the gradients of the layer's LoRA Aᵀ and Bᵀ, written out in standard ops. Two variants,
 *             after the training spec's `gradientCheckpointing`:
 *             on:  only x is kept between the passes; the backward recomputes the whole forward;
 *             off: the forward also outputs the four frozen linears' products the backward reads
 *                  (SAVED_ACTIVATIONS: the rotated queries and keys, the values, fc1's output) and the backward takes
 *                  them back, recomputing only the cheap rest from x and them (layer norm, attention probabilities,
 *                  gelu_new, dropout).
 * The graphs are shared by all layers: every weight is an input (why: ./step-engine.ts).
 * Frozen linears: `none` = a float32 W [out, in] (Gemm with transB forward, MatMul dY·W backward); `nf4` = model/nf4.ts'
 * packed codes and float absmax as inputs (never initializers: ORT would constant-fold their dequantization back to
 * float32), MatMulBnb4 forward, the in-graph dequantization + MatMul backward (its CPU kernel ignores transB).
 */
import { headDim, rotaryDim, type PhiConfig } from "../../../model/config.js";
import {
  ATTENTION_BIAS, GRAD_PREFIX, LAYER_INPUT, LAYER_OUTPUT, loraInputNames, nf4InputNames, ROTARY_COS, ROTARY_SIN,
  SAVED_ACTIVATIONS,
} from "../../../model/onnx-names.js";
import { NF4_BLOCK_SIZE, NF4_PAIRS } from "../../../model/nf4.js";
import { LINEAR_MODULES, linearFeatures, MODULE_GROUP, type LinearModule } from "../../../model/phi-layout.js";
import { attr, FLOAT, GraphBuilder, inlineSink, INT64, UINT8 } from "../export/graph.js";
import { Ops } from "./ops.js";

export interface LayerGraphOptions {
  quant: "none" | "nf4";
  targets: readonly LinearModule[];
  r: number;
  scale: number;
  dropout: boolean;
  /** the spec's `gradientCheckpointing`: recompute the forward in the backward, or save its activations */
  gradientCheckpointing: boolean;
}

export const OPSETS = { "": 17, "com.microsoft": 1 };
const TOKENS = "tokens", BATCH = "batch", SEQ = "seq";

/** "self_attn.q_proj": a linear's name inside its decoder layer. */
export function localModule(m: LinearModule): string {
  return `${MODULE_GROUP[m]}.${m}`;
}

/** NF4 can run through MatMulBnb4 when the weight is whole blocks of 64 (its kernel reads the flat codes). */
function wholeBlocks(c: PhiConfig, m: LinearModule): boolean {
  const [i, o] = linearFeatures(c, m);
  return (i * o) % NF4_BLOCK_SIZE === 0;
}

/**
 * What the forward saves when not checkpointing (outputs of the forward graph, inputs of the backward): the products
 * of the frozen linears the backward reads. Everything else it reads is elementwise work from x and these, or
 * attention products (the probabilities are [batch, heads, seq, seq]: larger to keep than to recompute).
 */
function savedActivations(c: PhiConfig): { name: string; field: "qr" | "kr" | "vh" | "f1"; shape: (number | string)[] }[] {
  const heads = [BATCH, c.num_attention_heads, SEQ, headDim(c)];
  const s = SAVED_ACTIVATIONS;
  return [
    { name: s.query, field: "qr", shape: heads },
    { name: s.key, field: "kr", shape: heads },
    { name: s.value, field: "vh", shape: heads },
    { name: s.fc1, field: "f1", shape: [TOKENS, c.intermediate_size] },
  ];
}

/** Bytes of one layer's saved activations for a batch of `batch` × `seq` tokens. */
export function savedActivationBytes(c: PhiConfig, batch: number, seq: number): number {
  const dims: Record<string, number> = { [BATCH]: batch, [SEQ]: seq, [TOKENS]: batch * seq };
  return savedActivations(c).reduce((n, a) => n + 4 * a.shape.reduce<number>((m, d) => m * (typeof d === "number" ? d : dims[d]), 1), 0);
}

/** The forward's values the backward reads. */
interface LayerForward {
  xhat: string;
  rstd: string;
  qr: string;
  kr: string;
  vh: string;
  p: string;
  f1: string;
  /** per LoRA target: its (dropped-out) input */
  loraIn: Map<LinearModule, string>;
}

class LayerBuilder {
  readonly ops: Ops;
  private readonly dequantized = new Map<LinearModule, string>();
  private shape4!: string;
  private hidden!: string;

  /** recompute: this is the checkpointing backward graph, which runs the forward again */
  constructor(readonly g: GraphBuilder, readonly c: PhiConfig, readonly o: LayerGraphOptions, private readonly recompute: boolean) {
    this.ops = new Ops(g);
  }

  inputs(): void {
    const { g, c, o } = this;
    const H = c.hidden_size, rot = rotaryDim(c);
    g.input(LAYER_INPUT, FLOAT, [TOKENS, H]);
    g.input(ATTENTION_BIAS, FLOAT, [BATCH, 1, SEQ, SEQ]);
    g.input(ROTARY_COS, FLOAT, [BATCH, 1, SEQ, rot]);
    g.input(ROTARY_SIN, FLOAT, [BATCH, 1, SEQ, rot]);
    g.input("input_layernorm.weight", FLOAT, [H]);
    g.input("input_layernorm.bias", FLOAT, [H]);
    for (const m of LINEAR_MODULES) {
      const [inF, outF] = linearFeatures(c, m);
      const name = localModule(m);
      if (o.quant === "nf4") {
        const n = nf4InputNames(name);
        g.input(n.codes, UINT8, [Math.ceil((inF * outF) / 2)]);
        g.input(n.absmax, FLOAT, [Math.ceil((inF * outF) / NF4_BLOCK_SIZE)]);
      } else {
        g.input(`${name}.weight`, FLOAT, [outF, inF]);
      }
      g.input(`${name}.bias`, FLOAT, [outF]);
      if (o.targets.includes(m)) {
        const l = loraInputNames(name);
        g.input(l.at, FLOAT, [inF, o.r]);
        g.input(l.bt, FLOAT, [o.r, outF]);
        if (o.dropout) g.input(l.dropout, FLOAT, [TOKENS, inF]);
      }
    }
    // [batch, seq] from the rotary table's shape: the per-head reshapes need them
    const bt = g.op("Gather", [g.op("Shape", [ROTARY_COS]), g.ints([0, 2])], { axis: attr.int(0) });
    this.shape4 = g.op("Concat", [bt, g.ints([c.num_attention_heads, headDim(c)])], { axis: attr.int(0) });
    this.hidden = g.ints([-1, H]);
  }

  /** W [out, in] as float: the input itself, or NF4 dequantized in the graph (codes → 256-entry pair table → × absmax). */
  weight(m: LinearModule): string {
    if (this.o.quant === "none") return `${localModule(m)}.weight`;
    const known = this.dequantized.get(m);
    if (known) return known;
    const { g, c } = this;
    const [inF, outF] = linearFeatures(c, m);
    const n = nf4InputNames(localModule(m));
    const table = g.constant(FLOAT, [256, 2], NF4_PAIRS);
    const pairs = g.op("Gather", [table, g.op("Cast", [n.codes], { to: attr.int(INT64) })], { axis: attr.int(0) }); // [bytes, 2]
    let w: string;
    if ((inF * outF) % NF4_BLOCK_SIZE === 0) {
      const blocks = this.ops.reshape(pairs, g.ints([-1, NF4_BLOCK_SIZE]));
      w = this.ops.reshape(this.ops.mul(blocks, g.op("Unsqueeze", [n.absmax, g.ints([1])])), g.ints([outF, inF]));
    } else {
      // a ragged last block: scale element by element (absmax repeated 64 times), then drop the padding
      const flat = this.ops.reshape(pairs, g.ints([-1]));
      const scales = this.ops.reshape(g.op("Expand", [g.op("Unsqueeze", [n.absmax, g.ints([1])]), g.ints([1, NF4_BLOCK_SIZE])]), g.ints([-1]));
      const count = g.ints([inF * outF]);
      const cut = (t: string) => g.op("Slice", [t, g.ints([0]), count, g.ints([0])]);
      w = this.ops.reshape(this.ops.mul(cut(flat), cut(scales)), g.ints([outF, inF]));
    }
    this.dequantized.set(m, w);
    return w;
  }

  /** The frozen product u·Wᵀ + b. */
  frozen(m: LinearModule, u: string): string {
    const { g, c, o, ops } = this;
    const name = localModule(m);
    if (o.quant === "nf4" && !this.recompute && wholeBlocks(c, m)) {
      const [inF, outF] = linearFeatures(c, m);
      const n = nf4InputNames(name);
      const y = g.op("MatMulBnb4", [u, n.codes, n.absmax], {
        K: attr.int(inF), N: attr.int(outF), block_size: attr.int(NF4_BLOCK_SIZE), quant_type: attr.int(1),
      }, "com.microsoft");
      return ops.add(y, `${name}.bias`);
    }
    // the recomputing backward graph dequantizes W once for both its products
    return ops.gemm(u, this.weight(m), { transB: true, bias: `${name}.bias` });
  }

  /** A LoRA target's input: u, times its dropout mask when the job has dropout. */
  dropped(m: LinearModule, u: string): string {
    return this.o.dropout ? this.ops.mul(u, loraInputNames(localModule(m)).dropout) : u;
  }

  /** A linear plus its LoRA branch: u·Wᵀ + b + scale·((dropout(u)·Aᵀ)·Bᵀ). */
  linear(m: LinearModule, u: string, loraIn: Map<LinearModule, string>): string {
    const { o, ops } = this;
    const y = this.frozen(m, u);
    if (!o.targets.includes(m)) return y;
    const l = loraInputNames(localModule(m));
    const input = this.dropped(m, u);
    loraIn.set(m, input);
    return ops.add(y, ops.mul(ops.matmul(ops.matmul(input, l.at), l.bt), ops.scalar(o.scale)));
  }

  /** Layer norm as tfjs computes it: moments over the last axis, (x − mean)·rsqrt(var + eps)·γ + β. */
  layerNorm(x: string, weight: string, bias: string): { y: string; xhat: string; rstd: string } {
    const { g, ops } = this;
    const d = ops.sub(x, ops.meanLast(x));
    const variance = ops.meanLast(ops.mul(d, d));
    const rstd = g.op("Reciprocal", [g.op("Sqrt", [ops.add(variance, ops.scalar(this.c.layer_norm_eps))])]);
    const xhat = ops.mul(d, rstd);
    return { y: ops.add(ops.mul(xhat, weight), bias), xhat, rstd };
  }

  /** [tokens, hidden] → [batch, heads, seq, head_dim]. */
  heads(t: string): string {
    return this.ops.transpose(this.ops.reshape(t, this.shape4), [0, 2, 1, 3]);
  }

  /** [batch, heads, seq, head_dim] → [tokens, hidden]. */
  flat(t: string): string {
    return this.ops.reshape(this.ops.transpose(t, [0, 2, 1, 3]), this.hidden);
  }

  /** Partial rotary on the first rotary_dim dims: x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x2, x1). */
  rotary(x: string): string {
    const { ops, c } = this;
    const rot = rotaryDim(c), hd = headDim(c), half = rot / 2;
    const xr = rot === hd ? x : ops.lastAxis(x, 0, rot);
    const rotated = ops.add(ops.mul(xr, ROTARY_COS), ops.mul(ops.concatLast([ops.neg(ops.lastAxis(xr, half, rot)), ops.lastAxis(xr, 0, half)]), ROTARY_SIN));
    return rot === hd ? rotated : ops.concatLast([rotated, ops.lastAxis(x, rot, hd)]);
  }

  /** The rotary's adjoint: dy·cos + cat(s2, −s1) with s = dy·sin; pass-through dims unchanged. */
  rotaryBackward(dy: string): string {
    const { ops, c } = this;
    const rot = rotaryDim(c), hd = headDim(c), half = rot / 2;
    const dr = rot === hd ? dy : ops.lastAxis(dy, 0, rot);
    const s = ops.mul(dr, ROTARY_SIN);
    const g = ops.add(ops.mul(dr, ROTARY_COS), ops.concatLast([ops.lastAxis(s, half, rot), ops.neg(ops.lastAxis(s, 0, half))]));
    return rot === hd ? g : ops.concatLast([g, ops.lastAxis(dy, rot, hd)]);
  }

  /** gelu_new as x·sigmoid(k·(x + a·x³)), k = 2√(2/π) (tfjs' form of the same function). */
  private gate(x: string): string {
    const { ops, g } = this;
    const k = 2 * Math.sqrt(2 / Math.PI), a = 0.044715;
    return g.op("Sigmoid", [ops.mul(ops.scalar(k), ops.add(x, ops.mul(ops.scalar(a), ops.mul(x, ops.mul(x, x)))))]);
  }

  private geluNew(x: string): string {
    return this.ops.mul(x, this.gate(x));
  }

  /** Attention probabilities softmax(q·kᵀ/√head_dim + bias). */
  private probs(qr: string, kr: string): string {
    const { g, ops, c } = this;
    const scores = ops.add(ops.mul(ops.matmul(qr, ops.transpose(kr, [0, 1, 3, 2])), ops.scalar(1 / Math.sqrt(headDim(c)))), ATTENTION_BIAS);
    return g.op("Softmax", [scores], { axis: attr.int(-1) });
  }

  private inputLayerNorm(): ReturnType<LayerBuilder["layerNorm"]> {
    return this.layerNorm(LAYER_INPUT, "input_layernorm.weight", "input_layernorm.bias");
  }

  forward(): LayerForward & { y: string } {
    const { ops } = this;
    const loraIn = new Map<LinearModule, string>();
    const ln = this.inputLayerNorm();
    const h = ln.y;
    const qr = this.rotary(this.heads(this.linear("q_proj", h, loraIn)));
    const kr = this.rotary(this.heads(this.linear("k_proj", h, loraIn)));
    const vh = this.heads(this.linear("v_proj", h, loraIn));
    const p = this.probs(qr, kr);
    const attn = this.linear("dense", this.flat(ops.matmul(p, vh)), loraIn);
    const f1 = this.linear("fc1", h, loraIn);
    const mlp = this.linear("fc2", this.geluNew(f1), loraIn);
    const y = ops.add(ops.add(attn, mlp), LAYER_INPUT);
    return { xhat: ln.xhat, rstd: ln.rstd, qr, kr, vh, p, f1, y, loraIn };
  }

  /**
   * The backward's view of the forward from x and the saved activations (graph inputs), with no frozen linear: the
   * layer norm, the attention probabilities, gelu_new and the LoRA inputs recomputed (dense's by one product p·v).
   */
  restore(): LayerForward {
    const { g, o, ops } = this;
    for (const a of savedActivations(this.c)) g.input(a.name, FLOAT, a.shape);
    const { query: qr, key: kr, value: vh, fc1: f1 } = SAVED_ACTIVATIONS;
    const ln = this.inputLayerNorm();
    const p = this.probs(qr, kr);
    const inputOf = (m: LinearModule): string => {
      if (m === "dense") return this.flat(ops.matmul(p, vh));
      return m === "fc2" ? this.geluNew(f1) : ln.y;
    };
    const loraIn = new Map(o.targets.map((m) => [m, this.dropped(m, inputOf(m))]));
    return { xhat: ln.xhat, rstd: ln.rstd, qr, kr, vh, p, f1, loraIn };
  }

  /** A linear's backward: du = dY·W (+ the LoRA branch's), and its LoRA gradients named as outputs. */
  linearBackward(m: LinearModule, dY: string, f: LayerForward): string {
    const { o, ops } = this;
    const du = ops.matmul(dY, this.weight(m));
    if (!o.targets.includes(m)) return du;
    const l = loraInputNames(localModule(m));
    const input = f.loraIn.get(m)!;
    const dYs = ops.mul(dY, ops.scalar(o.scale));
    const z = ops.matmul(input, l.at);
    this.g.node("Gemm", [z, dYs], { transA: attr.int(1) }, { outputs: [GRAD_PREFIX + l.bt] });
    const dz = ops.gemm(dYs, l.bt, { transB: true });
    this.g.node("Gemm", [input, dz], { transA: attr.int(1) }, { outputs: [GRAD_PREFIX + l.at] });
    let dIn = ops.gemm(dz, l.at, { transB: true });
    if (o.dropout) dIn = ops.mul(dIn, l.dropout);
    return ops.add(du, dIn);
  }

  backward(f: LayerForward): void {
    const { g, ops, c } = this;
    const dy = GRAD_PREFIX + LAYER_OUTPUT;
    // MLP
    const dgl = this.linearBackward("fc2", dy, f);
    const k = 2 * Math.sqrt(2 / Math.PI), a = 0.044715;
    const s = this.gate(f.f1);
    const du = ops.mul(ops.scalar(k), ops.add(ops.scalar(1), ops.mul(ops.scalar(3 * a), ops.mul(f.f1, f.f1))));
    const df1 = ops.mul(dgl, ops.add(s, ops.mul(ops.mul(f.f1, ops.mul(s, ops.sub(ops.scalar(1), s))), du)));
    const dhMlp = this.linearBackward("fc1", df1, f);
    // attention
    const dOh = this.heads(this.linearBackward("dense", dy, f));
    const dp = ops.matmul(dOh, ops.transpose(f.vh, [0, 1, 3, 2]));
    const dvh = ops.matmul(ops.transpose(f.p, [0, 1, 3, 2]), dOh);
    const ds = ops.mul(ops.mul(f.p, ops.sub(dp, ops.sumLast(ops.mul(dp, f.p)))), ops.scalar(1 / Math.sqrt(headDim(c))));
    const dq = this.rotaryBackward(ops.matmul(ds, f.kr));
    const dk = this.rotaryBackward(ops.matmul(ops.transpose(ds, [0, 1, 3, 2]), f.qr));
    const dhQ = this.linearBackward("q_proj", this.flat(dq), f);
    const dhK = this.linearBackward("k_proj", this.flat(dk), f);
    const dhV = this.linearBackward("v_proj", this.flat(dvh), f);
    const dh = ops.add(ops.add(ops.add(dhMlp, dhQ), dhK), dhV);
    // input_layernorm: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dh·γ
    const gn = ops.mul(dh, "input_layernorm.weight");
    const dxLn = ops.mul(f.rstd, ops.sub(ops.sub(gn, ops.meanLast(gn)), ops.mul(f.xhat, ops.meanLast(ops.mul(gn, f.xhat)))));
    g.node("Add", [dy, dxLn], {}, { outputs: [GRAD_PREFIX + LAYER_INPUT] });
  }
}

/** The forward graph: LAYER_INPUT (+ weights, LoRA, masks) → LAYER_OUTPUT, and unless checkpointing SAVED_ACTIVATIONS. */
export function layerForwardGraph(c: PhiConfig, o: LayerGraphOptions): Uint8Array {
  const g = new GraphBuilder(inlineSink);
  const b = new LayerBuilder(g, c, o, false);
  b.inputs();
  const f = b.forward();
  g.node("Identity", [f.y], {}, { outputs: [LAYER_OUTPUT] });
  g.output(LAYER_OUTPUT, FLOAT, [TOKENS, c.hidden_size]);
  if (!o.gradientCheckpointing) {
    for (const a of savedActivations(c)) {
      g.node("Identity", [f[a.field]], {}, { outputs: [a.name] });
      g.output(a.name, FLOAT, a.shape);
    }
  }
  return g.encode("tunegraph-train", OPSETS);
}

/**
 * The backward graph: LAYER_INPUT and grad.LAYER_OUTPUT (+ the forward's inputs, and SAVED_ACTIVATIONS unless
 * checkpointing) → grad.LAYER_INPUT and LoRA grads. The bottom layer's (`inputGradient` false) returns the LoRA grads
 * only: the embeddings are frozen, so what feeds nothing but grad.LAYER_INPUT is pruned (the frozen linears' dY·W,
 * the layer norm's backward, and a branch without LoRA targets whole), as autograd skips it for PyTorch.
 */
export function layerBackwardGraph(c: PhiConfig, o: LayerGraphOptions, inputGradient = true): Uint8Array {
  const g = new GraphBuilder(inlineSink);
  const b = new LayerBuilder(g, c, o, o.gradientCheckpointing);
  b.inputs();
  g.input(GRAD_PREFIX + LAYER_OUTPUT, FLOAT, [TOKENS, c.hidden_size]);
  b.backward(o.gradientCheckpointing ? b.forward() : b.restore());
  if (inputGradient) g.output(GRAD_PREFIX + LAYER_INPUT, FLOAT, [TOKENS, c.hidden_size]);
  for (const m of LINEAR_MODULES) {
    if (!o.targets.includes(m)) continue;
    const [inF, outF] = linearFeatures(c, m);
    const l = loraInputNames(localModule(m));
    g.output(GRAD_PREFIX + l.at, FLOAT, [inF, o.r]);
    g.output(GRAD_PREFIX + l.bt, FLOAT, [o.r, outF]);
  }
  g.prune();
  return g.encode("tunegraph-train", OPSETS);
}
