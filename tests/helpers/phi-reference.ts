/**
 * An independent float64 Phi forward written with plain loops straight from transformers' modeling_phi.py (no tfjs,
 * no ORT), to check both backends against, plus the HF tensor list it reads.
 */
import { headDim, rotaryDim, type PhiConfig } from "../../src/model/config.js";

/** Every PhiForCausalLM tensor with its shape, as HF names them, written out so tests do not lean on the code they check. */
export function tensorShapes(c: PhiConfig): [string, number[]][] {
  const h = c.hidden_size, m = c.intermediate_size, v = c.vocab_size;
  const out: [string, number[]][] = [["model.embed_tokens.weight", [v, h]]];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    out.push([`${p}.input_layernorm.weight`, [h]], [`${p}.input_layernorm.bias`, [h]]);
    for (const n of ["q_proj", "k_proj", "v_proj", "dense"]) out.push([`${p}.self_attn.${n}.weight`, [h, h]], [`${p}.self_attn.${n}.bias`, [h]]);
    out.push([`${p}.mlp.fc1.weight`, [m, h]], [`${p}.mlp.fc1.bias`, [m]], [`${p}.mlp.fc2.weight`, [h, m]], [`${p}.mlp.fc2.bias`, [h]]);
  }
  out.push(["model.final_layernorm.weight", [h]], ["model.final_layernorm.bias", [h]], ["lm_head.weight", [v, h]], ["lm_head.bias", [v]]);
  return out;
}

type Mat = Float64Array[];

function linear(x: Mat, w: Float32Array, b: Float32Array, out: number): Mat {
  const inp = x[0].length;
  return x.map((row) => {
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = b[o];
      for (let i = 0; i < inp; i++) s += row[i] * w[o * inp + i];
      y[o] = s;
    }
    return y;
  });
}

function layerNorm(x: Mat, w: Float32Array, b: Float32Array, eps: number): Mat {
  return x.map((row) => {
    const n = row.length;
    const mean = row.reduce((a, v) => a + v, 0) / n;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / n;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * w[i] + b[i]);
  });
}

const geluNew = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** Logits [T][vocab] of one sequence; `mask` 1/0 per key position, `positions` per token. */
export function referenceLogits(c: PhiConfig, w: Map<string, Float32Array>, ids: number[], mask?: number[], positions?: number[]): Mat {
  const g = (n: string) => w.get(n)!;
  const T = ids.length, h = c.hidden_size, nh = c.num_attention_heads, hd = headDim(c), rot = rotaryDim(c);
  const keys = mask ?? ids.map(() => 1);
  const pos = positions ?? ids.map((_, t) => t);
  const emb = g("model.embed_tokens.weight");
  let x: Mat = ids.map((id) => Float64Array.from(emb.subarray(id * h, (id + 1) * h)));
  const rope = (vec: Float64Array, p: number) => {
    // rotate-half on the first `rot` dims of one head: x*cos + cat(-x2, x1)*sin, cos/sin = cat(freqs, freqs)
    const out = Float64Array.from(vec);
    for (let i = 0; i < rot; i++) {
      const freq = p / c.rope_theta ** ((2 * (i % (rot / 2))) / rot);
      const rotated = i < rot / 2 ? -vec[i + rot / 2] : vec[i - rot / 2];
      out[i] = vec[i] * Math.cos(freq) + rotated * Math.sin(freq);
    }
    return out;
  };
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const hn = layerNorm(x, g(`${p}.input_layernorm.weight`), g(`${p}.input_layernorm.bias`), c.layer_norm_eps);
    const q = linear(hn, g(`${p}.self_attn.q_proj.weight`), g(`${p}.self_attn.q_proj.bias`), h);
    const k = linear(hn, g(`${p}.self_attn.k_proj.weight`), g(`${p}.self_attn.k_proj.bias`), h);
    const v = linear(hn, g(`${p}.self_attn.v_proj.weight`), g(`${p}.self_attn.v_proj.bias`), h);
    const attn: Mat = ids.map(() => new Float64Array(h));
    for (let head = 0; head < nh; head++) {
      const sl = (m: Mat, t: number) => m[t].subarray(head * hd, (head + 1) * hd);
      const qs = ids.map((_, t) => rope(sl(q, t), pos[t]));
      const ks = ids.map((_, t) => rope(sl(k, t), pos[t]));
      for (let i = 0; i < T; i++) {
        const scores = ids.map((_, j) => {
          if (j > i || keys[j] === 0) return -Infinity;
          let s = 0;
          for (let d = 0; d < hd; d++) s += qs[i][d] * ks[j][d];
          return s / Math.sqrt(hd);
        });
        const max = Math.max(...scores);
        // a query whose keys are all masked (a padding position) gets uniform weights, as with HF's finite mask
        const e = scores.map((s) => (max === -Infinity ? 1 : s === -Infinity ? 0 : Math.exp(s - max)));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < T; j++) for (let d = 0; d < hd; d++) attn[i][head * hd + d] += (e[j] / z) * sl(v, j)[d];
      }
    }
    const a = linear(attn, g(`${p}.self_attn.dense.weight`), g(`${p}.self_attn.dense.bias`), h);
    const f1 = linear(hn, g(`${p}.mlp.fc1.weight`), g(`${p}.mlp.fc1.bias`), c.intermediate_size).map((r) => r.map(geluNew));
    const f2 = linear(f1, g(`${p}.mlp.fc2.weight`), g(`${p}.mlp.fc2.bias`), h);
    x = x.map((row, t) => row.map((val, d) => val + a[t][d] + f2[t][d]));
  }
  const hf = layerNorm(x, g("model.final_layernorm.weight"), g("model.final_layernorm.bias"), c.layer_norm_eps);
  return linear(hf, g("lm_head.weight"), g("lm_head.bias"), c.vocab_size);
}

/** Logits of a padded batch, flat [B, S, vocab] like an ONNX `logits` output. */
export function batchLogits(c: PhiConfig, w: Map<string, Float32Array>, ids: number[][], mask: number[][], positions: number[][]): Float32Array {
  return Float32Array.from(ids.flatMap((row, b) => referenceLogits(c, w, row, mask[b], positions[b]).flatMap((r) => Array.from(r))));
}

/** ‖a − b‖ / ‖b‖ over all values. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}
