/**
 * QLoRA's 4-bit NormalFloat (NF4) and bitsandbytes' blockwise 8-bit "dynamic" quantization, framework-free.
 * Layout as bitsandbytes: the tensor is flattened row-major, cut in blocks of 64 scaled by their absmax, each
 * value mapped to the nearest NF4 code, two codes per byte with the even element in the high nibble. Double
 * quantization stores the absmax constants as 8-bit dynamic codes in blocks of 256 after subtracting their mean.
 */
import { UserError } from "./errors.js";

export const NF4_BLOCK_SIZE = 64;
export const DOUBLE_QUANT_BLOCK_SIZE = 256;

/** The 16 NF4 values (bitsandbytes `get_4bit_type("nf4")`), ascending; code 7 is exactly 0. */
export const NF4_CODE = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

// decision boundaries: midpoints between neighbouring codes; a value equal to a boundary takes the lower code, as in
// bitsandbytes' dQuantizeNF4 (`x > threshold` picks the upper branch)
const NF4_THRESHOLDS = Float32Array.from({ length: 15 }, (_, i) => (NF4_CODE[i] + NF4_CODE[i + 1]) / 2);

// a 1024-bin table over [-1, 1]: thresholds are >= 0.08 apart, so each bin holds at most one of them and one
// comparison finishes the search; LUT[bin] counts the thresholds strictly below the bin's start
const LUT_BINS = 1024;
const NF4_LUT = Uint8Array.from({ length: LUT_BINS }, (_, b) => {
  const start = -1 + (2 * b) / LUT_BINS;
  return NF4_THRESHOLDS.filter((t) => t < start).length;
});

/** Index of the NF4 code nearest to `x` (x already scaled into [-1, 1]): the number of thresholds strictly below x. */
export function nf4Index(x: number): number {
  const bin = Math.min(LUT_BINS - 1, Math.max(0, Math.floor((x + 1) * (LUT_BINS / 2))));
  const i = NF4_LUT[bin];
  return i < 15 && x > NF4_THRESHOLDS[i] ? i + 1 : i;
}

/**
 * bitsandbytes `create_dynamic_map(signed, max_exponent_bits=7, total_bits=8)`: 256 sorted values in [-1, 1]
 * (signed) or [0, 1], a dynamic exponent (10^-6 .. 10^0) with a shrinking linear fraction. Also the code of 8-bit AdamW.
 */
export function dynamicMap(signed = true): Float32Array {
  const maxExponentBits = 7, totalBits = 8;
  const nonSignBits = totalBits - 1;
  const data: number[] = [];
  const means = (items: number): number[] => {
    // torch.linspace(0.1, 1, items) and the midpoints of neighbours, in float32 as torch computes them
    const b = Array.from({ length: items }, (_, k) => Math.fround(items === 1 ? 0.1 : 0.1 + (0.9 * k) / (items - 1)));
    return b.slice(1).map((v, k) => Math.fround(Math.fround(b[k] + v) / 2));
  };
  for (let i = 0; i < maxExponentBits; i++) {
    const items = signed ? 2 ** (i + nonSignBits - maxExponentBits) + 1 : 2 ** (i + nonSignBits - maxExponentBits + 1) + 1;
    const scale = 10 ** (-(maxExponentBits - 1) + i);
    for (const m of means(items)) data.push(Math.fround(scale * m));
    if (signed) for (const m of means(items)) data.push(Math.fround(-scale * m));
  }
  data.push(0, 1.0);
  while (data.length < 256) data.push(0);
  return Float32Array.from(data.sort((a, b) => a - b));
}

/** Index of the value of a sorted `map` nearest to `x` (ties go to the lower index). */
function nearestIndex(map: Float32Array, x: number): number {
  let lo = 0, hi = map.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (map[mid] <= x) lo = mid;
    else hi = mid;
  }
  return Math.abs(x - map[lo]) <= Math.abs(map[hi] - x) ? lo : hi;
}

/** 8-bit blockwise quantization (bitsandbytes `quantize_blockwise`): one absmax per block, one code per value. */
export interface Blockwise8 {
  codes: Uint8Array;
  absmax: Float32Array;
  blockSize: number;
}

export function quantizeBlockwise8(x: Float32Array, map: Float32Array, blockSize = DOUBLE_QUANT_BLOCK_SIZE): Blockwise8 {
  const blocks = Math.ceil(x.length / blockSize);
  const codes = new Uint8Array(x.length);
  const absmax = new Float32Array(blocks);
  for (let blk = 0; blk < blocks; blk++) {
    const start = blk * blockSize, end = Math.min(start + blockSize, x.length);
    let m = 0;
    for (let j = start; j < end; j++) m = Math.max(m, Math.abs(x[j]));
    absmax[blk] = m;
    const inv = m === 0 ? 0 : Math.fround(1 / m);
    for (let j = start; j < end; j++) codes[j] = nearestIndex(map, Math.fround(x[j] * inv));
  }
  return { codes, absmax, blockSize };
}

export function dequantizeBlockwise8(q: Blockwise8, map: Float32Array, out = new Float32Array(q.codes.length)): Float32Array {
  for (let j = 0; j < q.codes.length; j++) out[j] = map[q.codes[j]] * q.absmax[Math.floor(j / q.blockSize)];
  return out;
}

/** A tensor held as NF4: `packed` has ceil(n/2) bytes; the per-block absmax is plain or double-quantized. */
export interface Nf4Tensor {
  shape: number[];
  packed: Uint8Array;
  /** One float32 per 64 values, or null when double-quantized. */
  absmax: Float32Array | null;
  doubleQuant: { codes: Uint8Array; absmax: Float32Array; offset: number } | null;
}

export interface Nf4Options {
  /** Quantize the absmax constants too (QLoRA's `bnb_4bit_use_double_quant`); default true. */
  doubleQuant?: boolean;
}

let signedMap: Float32Array | null = null;
function signedDynamicMap(): Float32Array {
  return (signedMap ??= dynamicMap(true));
}

export function quantizeNf4(data: Float32Array, shape: number[], opts: Nf4Options = {}): Nf4Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new UserError(`quantizeNf4: shape [${shape.join(", ")}] holds ${n} values, got ${data.length}`);
  if (n >= 2 ** 32) throw new UserError(`quantizeNf4: shape [${shape.join(", ")}] has 2^32 values or more: quantize it in parts`);
  const blocks = Math.ceil(n / NF4_BLOCK_SIZE);
  const absmax = new Float32Array(blocks);
  const packed = new Uint8Array(Math.ceil(n / 2));
  for (let blk = 0; blk < blocks; blk++) {
    const start = blk * NF4_BLOCK_SIZE, end = Math.min(start + NF4_BLOCK_SIZE, n);
    let m = 0;
    for (let j = start; j < end; j++) {
      const a = Math.abs(data[j]);
      if (a > m) m = a;
    }
    absmax[blk] = m;
    const inv = m === 0 ? 0 : Math.fround(1 / m);
    for (let j = start; j < end; j++) {
      const code = nf4Index(Math.fround(data[j] * inv));
      packed[j >>> 1] |= (j & 1) === 0 ? code << 4 : code;
    }
  }
  // a missing odd last element keeps code 0 in its low nibble, never read back
  if (opts.doubleQuant === false) return { shape: [...shape], packed, absmax, doubleQuant: null };
  let sum = 0;
  for (const a of absmax) sum += a;
  const offset = Math.fround(sum / blocks);
  const centred = absmax.map((a) => a - offset);
  const q = quantizeBlockwise8(centred, signedDynamicMap());
  return { shape: [...shape], packed, absmax: null, doubleQuant: { codes: q.codes, absmax: q.absmax, offset } };
}

/** The float32 absmax per block of 64 (decoding the double quantization when present). */
export function nf4Absmax(t: Nf4Tensor): Float32Array {
  if (t.absmax) return t.absmax;
  const dq = t.doubleQuant!;
  const out = dequantizeBlockwise8({ codes: dq.codes, absmax: dq.absmax, blockSize: DOUBLE_QUANT_BLOCK_SIZE }, signedDynamicMap());
  for (let i = 0; i < out.length; i++) out[i] += dq.offset;
  return out;
}

function count(t: Nf4Tensor): number {
  return t.shape.reduce((a, b) => a * b, 1);
}

// both codes of every byte value: NF4_PAIRS[2b] = code of the high nibble (even element), NF4_PAIRS[2b+1] = low
export const NF4_PAIRS = Float32Array.from({ length: 512 }, (_, i) => NF4_CODE[(i & 1) === 0 ? i >> 5 : (i >> 1) & 15]);

/**
 * Decode the flat elements [start, end) (start even) into out[o ..]: a byte gives two values from NF4_PAIRS, with no
 * per-element branch; a block of 64 starts at an even element, so both values of a byte share their block's scale.
 */
function decodeRange(packed: Uint8Array, absmax: Float32Array, start: number, end: number, out: Float32Array, o: number): void {
  let j = start;
  while (j < end) {
    const blockEnd = Math.min(end, (Math.floor(j / NF4_BLOCK_SIZE) + 1) * NF4_BLOCK_SIZE);
    const scale = absmax[Math.floor(j / NF4_BLOCK_SIZE)];
    const pairEnd = blockEnd - ((blockEnd - j) & 1);
    for (; j < pairEnd; j += 2, o += 2) {
      const p = packed[j >>> 1] << 1;
      out[o] = NF4_PAIRS[p] * scale;
      out[o + 1] = NF4_PAIRS[p + 1] * scale;
    }
    if (j < blockEnd) out[o++] = NF4_PAIRS[packed[j++ >>> 1] << 1] * scale; // an odd last element
  }
}

/** Dequantize to float32 in the stored (row-major) layout. */
export function dequantizeNf4(t: Nf4Tensor, out = new Float32Array(count(t))): Float32Array {
  decodeRange(t.packed, nf4Absmax(t), 0, count(t), out, 0);
  return out;
}

/** Dequantize a 2-D [rows, cols] tensor straight into its transpose [cols, rows] (x·Wᵀ without a transposed product). */
export function dequantizeNf4Transposed(t: Nf4Tensor, out?: Float32Array): Float32Array {
  if (t.shape.length !== 2) throw new UserError(`dequantizeNf4Transposed: expected a 2-D tensor, got shape [${t.shape.join(", ")}]`);
  const [rows, cols] = t.shape;
  const dst = out ?? new Float32Array(rows * cols);
  const absmax = nf4Absmax(t);
  // TILE source rows are decoded into a small buffer that stays in cache, then written out TILE floats at a time
  const TILE = 16;
  const tile = new Float32Array(TILE * cols);
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const n = Math.min(TILE, rows - r0);
    if (cols % 2 === 0) decodeRange(t.packed, absmax, r0 * cols, (r0 + n) * cols, tile, 0);
    else for (let r = 0; r < n; r++) decodeOddRow(t.packed, absmax, (r0 + r) * cols, cols, tile, r * cols);
    for (let c = 0; c < cols; c++) {
      const o = c * rows + r0;
      for (let r = 0; r < n; r++) dst[o + r] = tile[r * cols + c];
    }
  }
  return dst;
}

/** One row that may start at an odd element (odd column counts). */
function decodeOddRow(packed: Uint8Array, absmax: Float32Array, start: number, len: number, out: Float32Array, o: number): void {
  let j = start;
  if ((j & 1) === 1) out[o++] = NF4_PAIRS[(packed[j >>> 1] << 1) + 1] * absmax[Math.floor(j++ / NF4_BLOCK_SIZE)];
  decodeRange(packed, absmax, j, start + len, out, o);
}

/** Bytes held by the quantized form (codes + constants). */
export function nf4Bytes(t: Nf4Tensor): number {
  if (t.absmax) return t.packed.byteLength + t.absmax.byteLength;
  const dq = t.doubleQuant!;
  return t.packed.byteLength + dq.codes.byteLength + dq.absmax.byteLength + 4;
}
