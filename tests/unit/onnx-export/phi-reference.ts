import { headDim, rotaryDim, type PhiConfig } from "../../../src/model/config.js";
import type { WeightSource } from "../../../src/backends/onnx/export/phi-graph.js";

/** HF Phi tensor names and shapes, written out here so the test does not lean on the code it checks. */
export function phiTensorShapes(c: PhiConfig): [string, number[]][] {
  const h = c.hidden_size, m = c.intermediate_size;
  const out: [string, number[]][] = [["model.embed_tokens.weight", [c.vocab_size, h]]];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    out.push([`${p}.input_layernorm.weight`, [h]], [`${p}.input_layernorm.bias`, [h]]);
    for (const n of ["q_proj", "k_proj", "v_proj", "dense"]) out.push([`${p}.self_attn.${n}.weight`, [h, h]], [`${p}.self_attn.${n}.bias`, [h]]);
    out.push([`${p}.mlp.fc1.weight`, [m, h]], [`${p}.mlp.fc1.bias`, [m]], [`${p}.mlp.fc2.weight`, [h, m]], [`${p}.mlp.fc2.bias`, [h]]);
  }
  out.push(["model.final_layernorm.weight", [h]], ["model.final_layernorm.bias", [h]], ["lm_head.weight", [c.vocab_size, h]], ["lm_head.bias", [c.vocab_size]]);
  return out;
}

/** Seeded random Phi weights in memory (LayerNorm weights near 1, the rest ~ N(0, std)). */
export function randomWeights(c: PhiConfig, seed = 1, std = 0.05): WeightSource & { tensors: Map<string, Float32Array> } {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const tensors = new Map<string, Float32Array>();
  for (const [name, shape] of phiTensorShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = new Float32Array(n);
    const isNormWeight = name.includes("layernorm.weight");
    for (let i = 0; i < n; i++) t[i] = (isNormWeight ? 1 : 0) + (uniform() * 2 - 1) * std * 1.7;
    tensors.set(name, t);
  }
  return { config: c, tensors, read: async (name) => tensors.get(name)!.slice() };
}

/** A direct, slow transcription of HF modeling_phi's forward (no cache): logits [B, S, V]. */
export function referenceLogits(c: PhiConfig, w: Map<string, Float32Array>, ids: number[][], mask: number[][], positions: number[][]): Float32Array {
  const h = c.hidden_size, nh = c.num_attention_heads, d = headDim(c), rot = rotaryDim(c), V = c.vocab_size;
  const B = ids.length, S = ids[0].length;
  const out = new Float32Array(B * S * V);
  const W = (n: string) => w.get(n)!;
  const linear = (x: Float64Array[], p: string, outF: number) => {
    const wt = W(`${p}.weight`), b = W(`${p}.bias`), inF = x[0].length;
    return x.map((row) => {
      const y = new Float64Array(outF);
      for (let o = 0; o < outF; o++) {
        let acc = b[o];
        for (let i = 0; i < inF; i++) acc += row[i] * wt[o * inF + i];
        y[o] = acc;
      }
      return y;
    });
  };
  const ln = (x: Float64Array[], p: string) => x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / h;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / h;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + c.layer_norm_eps)) * W(`${p}.weight`)[i] + W(`${p}.bias`)[i]);
  });
  const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const rope = (vec: Float64Array, pos: number) => {
    const r = vec.slice();
    for (let head = 0; head < nh; head++) {
      for (let j = 0; j < rot / 2; j++) {
        const angle = pos / Math.pow(c.rope_theta, (2 * j) / rot);
        const a = vec[head * d + j], b = vec[head * d + j + rot / 2];
        r[head * d + j] = a * Math.cos(angle) - b * Math.sin(angle);
        r[head * d + j + rot / 2] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
    return r;
  };
  for (let bi = 0; bi < B; bi++) {
    let x = ids[bi].map((id) => Float64Array.from(W("model.embed_tokens.weight").subarray(id * h, (id + 1) * h)));
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `model.layers.${l}`;
      const n = ln(x, `${p}.input_layernorm`);
      const q = linear(n, `${p}.self_attn.q_proj`, h).map((r, s) => rope(r, positions[bi][s]));
      const k = linear(n, `${p}.self_attn.k_proj`, h).map((r, s) => rope(r, positions[bi][s]));
      const v = linear(n, `${p}.self_attn.v_proj`, h);
      const ctx = q.map((qr, i) => {
        const o = new Float64Array(h);
        for (let head = 0; head < nh; head++) {
          const scores = k.map((kr, j) => {
            if (j > i || mask[bi][j] === 0) return -Infinity;
            let dot = 0;
            for (let e = 0; e < d; e++) dot += qr[head * d + e] * kr[head * d + e];
            return dot / Math.sqrt(d);
          });
          const max = Math.max(...scores);
          // a query whose keys are all masked (a padding position) gets uniform weights, as with a finite mask
          const e = scores.map((sc) => (max === -Infinity ? 1 : Math.exp(sc - max)));
          const z = e.reduce((a, b) => a + b, 0);
          for (let j = 0; j < S; j++) for (let t = 0; t < d; t++) o[head * d + t] += (e[j] / z) * v[j][head * d + t];
        }
        return o;
      });
      const attn = linear(ctx, `${p}.self_attn.dense`, h);
      const mlp = linear(linear(n, `${p}.mlp.fc1`, c.intermediate_size).map((r) => r.map(gelu)), `${p}.mlp.fc2`, h);
      x = x.map((r, s) => r.map((v0, e) => v0 + attn[s][e] + mlp[s][e]));
    }
    const logits = linear(ln(x, "model.final_layernorm"), "lm_head", V);
    logits.forEach((r, s) => out.set(r, (bi * S + s) * V));
  }
  return out;
}
