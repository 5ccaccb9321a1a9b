/** safetensors dtypes tunegraph reads and writes, and conversions between the float ones and float32. */
export type Dtype = "F32" | "F16" | "BF16" | "I64" | "I32" | "U8";
export type FloatDtype = "F32" | "F16" | "BF16";

export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1 };

export function isDtype(s: unknown): s is Dtype {
  return typeof s === "string" && Object.hasOwn(DTYPE_BYTES, s);
}

export function isFloatDtype(s: unknown): s is FloatDtype {
  return s === "F32" || s === "F16" || s === "BF16";
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 → IEEE half bits, rounding to nearest even; overflow gives ±inf, NaN stays NaN. */
export function f32ToF16(v: number): number {
  scratchF32[0] = v;
  const x = scratchU32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // a carry into the exponent is correct rounding
    return sign | h;
  }
  // half subnormal: value / 2^-24, from the 24-bit significand shifted right
  const shift = 14 - e;
  if (shift > 24) return sign;
  const full = mant | 0x800000;
  let h = full >>> shift;
  const rem = full & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (rem > halfway || (rem === halfway && (h & 1) !== 0)) h++;
  return sign | h;
}

/** IEEE half bits → float32 value (exact). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 → bfloat16 bits, rounding to nearest even; NaN stays NaN. */
export function f32ToBf16(v: number): number {
  scratchF32[0] = v;
  const x = scratchU32[0];
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits → float32 value (exact). */
export function bf16ToF32(b: number): number {
  scratchU32[0] = (b & 0xffff) << 16;
  return scratchF32[0];
}

let f16Table: Float32Array | undefined;
function halfTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16ToF32(i);
  }
  return f16Table;
}

/** Encode float32 values as little-endian bytes of `dtype`. */
export function encodeFloats(src: Float32Array, dtype: FloatDtype): Uint8Array {
  if (dtype === "F32") return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  const out = new Uint16Array(src.length);
  if (dtype === "F16") for (let i = 0; i < src.length; i++) out[i] = f32ToF16(src[i]);
  else for (let i = 0; i < src.length; i++) out[i] = f32ToBf16(src[i]);
  return new Uint8Array(out.buffer);
}

/**
 * Decode little-endian bytes of `dtype` into `out` (starting at `outOffset`) as float32;
 * integers are converted to the nearest float32. Returns the number of values written.
 */
export function decodeInto(bytes: Uint8Array, dtype: Dtype, out: Float32Array, outOffset = 0): number {
  const size = DTYPE_BYTES[dtype];
  const n = bytes.byteLength / size;
  // typed-array views need aligned offsets; copy once when the source is not aligned
  const src = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  switch (dtype) {
    case "F32":
      out.set(new Float32Array(src.buffer, src.byteOffset, n), outOffset);
      break;
    case "F16": {
      const t = halfTable();
      const u = new Uint16Array(src.buffer, src.byteOffset, n);
      for (let i = 0; i < n; i++) out[outOffset + i] = t[u[i]];
      break;
    }
    case "BF16": {
      const u = new Uint16Array(src.buffer, src.byteOffset, n);
      const bits = new Uint32Array(out.buffer, out.byteOffset + outOffset * 4, n);
      for (let i = 0; i < n; i++) bits[i] = u[i] << 16;
      break;
    }
    case "I64": {
      const v = new BigInt64Array(src.buffer, src.byteOffset, n);
      for (let i = 0; i < n; i++) out[outOffset + i] = Number(v[i]);
      break;
    }
    case "I32":
      out.set(new Int32Array(src.buffer, src.byteOffset, n), outOffset);
      break;
    case "U8":
      out.set(src, outOffset);
      break;
  }
  return n;
}

/** Decode little-endian bytes of `dtype` into a new Float32Array. */
export function decodeFloats(bytes: Uint8Array, dtype: Dtype): Float32Array {
  const out = new Float32Array(bytes.byteLength / DTYPE_BYTES[dtype]);
  decodeInto(bytes, dtype, out);
  return out;
}
