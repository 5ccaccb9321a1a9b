/**
 * The loss head for a chunk of positions (the training engine runs it chunk by chunk, so [tokens, vocab] logits
 * never exist whole): final_layernorm, lm_head, Σ weight·cross-entropy, and the gradient w.r.t. the chunk's hidden
 * states, the math of ../../tfjs/loss.ts (logsumexp = max − log(max softmax); d logits = (softmax − one-hot)·weight).
 */
import type { PhiConfig } from "../../../model/config.js";
import { GRAD_PREFIX, LAYER_INPUT, LOSS, LOSS_WEIGHTS, TARGETS } from "../../../model/onnx-names.js";
import { attr, FLOAT, GraphBuilder, inlineSink, INT64 } from "../export/graph.js";
import { OPSETS } from "./layer-graph.js";
import { Ops } from "./ops.js";

const ROWS = "positions";

export function headGraph(c: PhiConfig): Uint8Array {
  const g = new GraphBuilder(inlineSink);
  const ops = new Ops(g);
  const H = c.hidden_size, V = c.vocab_size;
  const x = g.input(LAYER_INPUT, FLOAT, [ROWS, H]);
  const targets = g.input(TARGETS, INT64, [ROWS]);
  const w = g.input(LOSS_WEIGHTS, FLOAT, [ROWS]);
  const lnW = g.input("final_layernorm.weight", FLOAT, [H]);
  const lnB = g.input("final_layernorm.bias", FLOAT, [H]);
  const head = g.input("lm_head.weight", FLOAT, [V, H]);
  const headBias = g.input("lm_head.bias", FLOAT, [V]);

  const d = ops.sub(x, ops.meanLast(x));
  const rstd = g.op("Reciprocal", [g.op("Sqrt", [ops.add(ops.meanLast(ops.mul(d, d)), ops.scalar(c.layer_norm_eps))])]);
  const xhat = ops.mul(d, rstd);
  const hn = ops.add(ops.mul(xhat, lnW), lnB);

  const logits = ops.gemm(hn, head, { transB: true, bias: headBias });
  const p = g.op("Softmax", [logits], { axis: attr.int(-1) });
  const rowMax = (t: string) => g.op("ReduceMax", [t], { axes: attr.ints([-1]), keepdims: attr.int(0) });
  const lse = ops.sub(rowMax(logits), g.op("Log", [rowMax(p)]));
  const t2 = g.op("Unsqueeze", [targets, g.ints([1])]);
  const picked = g.op("Squeeze", [g.op("GatherElements", [logits, t2], { axis: attr.int(1) }), g.ints([1])]);
  g.node("ReduceSum", [ops.mul(ops.sub(lse, picked), w)], { keepdims: attr.int(0) }, { outputs: [LOSS] });

  const w2 = g.op("Unsqueeze", [w, g.ints([1])]);
  const atTargets = ops.mul(ops.sub(g.op("GatherElements", [p, t2], { axis: attr.int(1) }), ops.scalar(1)), w2);
  const dLogits = g.op("ScatterElements", [ops.mul(p, w2), t2, atTargets], { axis: attr.int(1) });
  const dh = ops.matmul(dLogits, head);
  const gn = ops.mul(dh, lnW);
  const dx = ops.mul(rstd, ops.sub(ops.sub(gn, ops.meanLast(gn)), ops.mul(xhat, ops.meanLast(ops.mul(gn, xhat)))));
  g.node("Identity", [dx], {}, { outputs: [GRAD_PREFIX + LAYER_INPUT] });

  g.output(LOSS, FLOAT, []);
  g.output(GRAD_PREFIX + LAYER_INPUT, FLOAT, [ROWS, H]);
  return g.encode("tunegraph-train", OPSETS);
}
