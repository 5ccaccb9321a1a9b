/**
 * The operands of bench/int8-products.ts: what the frozen products of a training step multiply.
 *   activations: rows of a layer norm's output (each row normal, centred, unit variance; LN weight 1, bias 0) and
 *                gelu_new of unit-normal pre-activations (fc2's input);
 *   gradients:   heavy-tailed output gradients dY (Student-t with 3 degrees of freedom, Laplace, or Student-t rows
 *                scaled by a log-normal factor: per-token gradient norms spread over orders of magnitude), and the
 *                lm_head's (softmax − one-hot) / tokens;
 *   weights:     a linear's W [out, in] as QLoRA holds it (normal, std 0.02, through NF4 and back), lm_head plain
 *                float32 (QLoRA leaves it unquantized).
 */
import { dequantizeNf4, quantizeNf4 } from "../../src/model/nf4.js";
import { Rng } from "../../src/model/random.js";

export type ActivationKind = "ln" | "gelu";
export type GradientKind = "t3" | "laplace" | "t3-rows";

/** rows × cols of a layer norm's output. */
function layerNormed(rng: Rng, rows: number, cols: number): Float32Array {
  const out = rng.fillNormal(new Float32Array(rows * cols));
  for (let r = 0; r < rows; r++) {
    const row = out.subarray(r * cols, (r + 1) * cols);
    let mean = 0;
    for (const v of row) mean += v;
    mean /= cols;
    let variance = 0;
    for (const v of row) variance += (v - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / cols + 1e-5);
    for (let i = 0; i < cols; i++) row[i] = (row[i] - mean) * inv;
  }
  return out;
}

function gelu(rng: Rng, rows: number, cols: number): Float32Array {
  const out = rng.fillNormal(new Float32Array(rows * cols));
  const c = Math.sqrt(2 / Math.PI);
  for (let i = 0; i < out.length; i++) {
    const x = out[i];
    out[i] = 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x * x * x)));
  }
  return out;
}

export function activations(kind: ActivationKind, rows: number, cols: number, seed: number): Float32Array {
  const rng = new Rng(seed, `int8-${kind}`);
  return kind === "ln" ? layerNormed(rng, rows, cols) : gelu(rng, rows, cols);
}

/** Student-t, 3 degrees of freedom: normal / sqrt(χ²₃ / 3). */
function studentT3(rng: Rng): number {
  const chi = rng.normal() ** 2 + rng.normal() ** 2 + rng.normal() ** 2;
  return rng.normal() / Math.sqrt(chi / 3);
}

function laplace(rng: Rng): number {
  const u = rng.next() - 0.5;
  return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

/** A heavy-tailed output gradient dY [rows, cols], scaled to a typical magnitude (1e-3: its scale cancels in a relative error). */
export function gradients(kind: GradientKind, rows: number, cols: number, seed: number): Float32Array {
  const rng = new Rng(seed, `int8-${kind}`);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const rowScale = kind === "t3-rows" ? Math.exp(rng.normal()) : 1;
    for (let i = r * cols; i < (r + 1) * cols; i++) out[i] = 1e-3 * rowScale * (kind === "laplace" ? laplace(rng) : studentT3(rng));
  }
  return out;
}

/**
 * The lm_head's gradient w.r.t. its logits [rows, vocab]: (softmax − one-hot) / tokens, for logits of standard
 * deviation `logitStd` (4: a mean loss of a few nats, as a trained model's) and labels drawn from the softmax itself
 * (a calibrated model). Returns the mean loss beside it, to say what kind of model the gradient stands for.
 */
export function headGradient(logits: Float32Array, rows: number, vocab: number, tokens: number, seed: number, logitStd = 4): { dY: Float32Array; meanLoss: number } {
  const rng = new Rng(seed, "int8-labels");
  let sum = 0, sq = 0;
  for (const v of logits) { sum += v; sq += v * v; }
  const mean = sum / logits.length, scale = logitStd / Math.sqrt(sq / logits.length - mean * mean);
  const dY = new Float32Array(rows * vocab);
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const z = logits.subarray(r * vocab, (r + 1) * vocab), p = dY.subarray(r * vocab, (r + 1) * vocab);
    let max = -Infinity;
    for (const v of z) max = Math.max(max, v * scale);
    let total = 0;
    for (let i = 0; i < vocab; i++) total += (p[i] = Math.exp(z[i] * scale - max));
    for (let i = 0; i < vocab; i++) p[i] /= total;
    let label = 0;
    for (let u = rng.next(), acc = p[0]; acc < u && label < vocab - 1;) acc += p[++label];
    loss -= Math.log(p[label]);
    p[label] -= 1;
    for (let i = 0; i < vocab; i++) p[i] /= tokens;
  }
  return { dY, meanLoss: loss / rows };
}

/** W [out, in]: normal, std 0.02, stored as NF4 (`nf4`) and dequantized, as the training engine's frozen base. */
export function weight(out: number, inF: number, seed: number, nf4: boolean): Float32Array {
  const w = new Rng(seed, "int8-weight").fillNormal(new Float32Array(out * inF), 0.02);
  return nf4 ? dequantizeNf4(quantizeNf4(w, [out, inF])) : w;
}
