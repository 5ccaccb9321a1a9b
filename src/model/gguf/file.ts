/**
 * GGUF version 3, the file llama.cpp (and ollama, node-llama-cpp) loads, as gguf-py's GGUFWriter writes it:
 * magic "GGUF", u32 version, u64 tensor count, u64 key/value count; the key/value pairs (a string key, a u32 value
 * type, the value); one info per tensor (name, u32 n_dims, u64 dims innermost first, u32 ggml type, u64 offset into
 * the data section); padding to the alignment (32), then each tensor's data, each padded to the alignment.
 * Little-endian throughout; a string is a u64 byte length and UTF-8 bytes.
 */
import { open, type FileHandle } from "node:fs/promises";

const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const VERSION = 3;
/** general.alignment's default, which this writer keeps (so it writes no general.alignment key). */
export const GGUF_ALIGNMENT = 32;

/** gguf-py's GGUFValueType. */
const VALUE_TYPE = { uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12 } as const;

export type GgufScalar =
  | { type: "uint32"; value: number }
  | { type: "int32"; value: number }
  | { type: "float32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string };
export type GgufValue = GgufScalar | { type: "array"; itemType: "string"; value: readonly string[] } | { type: "array"; itemType: "int32"; value: readonly number[] };

/** The metadata constructors, named as gguf-py's add_uint32 / add_float32 / ... write them. */
export const kv = {
  u32: (value: number): GgufValue => ({ type: "uint32", value }),
  i32: (value: number): GgufValue => ({ type: "int32", value }),
  f32: (value: number): GgufValue => ({ type: "float32", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: readonly string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  i32s: (value: readonly number[]): GgufValue => ({ type: "array", itemType: "int32", value }),
};

/** ggml_type ids and their blocks (elements per block, bytes per block) for the types this writer produces. */
export const GGML_TYPES = {
  F32: { id: 0, blockSize: 1, blockBytes: 4 },
  F16: { id: 1, blockSize: 1, blockBytes: 2 },
  Q4_0: { id: 2, blockSize: 32, blockBytes: 2 + 16 },
  Q8_0: { id: 8, blockSize: 32, blockBytes: 2 + 32 },
} as const;
export type GgmlType = keyof typeof GGML_TYPES;

export interface GgufTensorInfo {
  name: string;
  /** ggml order: innermost (contiguous) dimension first, i.e. an HF [out, in] weight is [in, out] here */
  dims: readonly number[];
  type: GgmlType;
}

/** Bytes of a tensor's data: whole blocks along the innermost dimension. */
export function tensorBytes(t: GgufTensorInfo): number {
  const { blockSize, blockBytes } = GGML_TYPES[t.type];
  if (t.dims[0] % blockSize !== 0) throw new Error(`gguf: tensor ${t.name}: ${t.type} needs the first dimension (${t.dims[0]}) to be a multiple of ${blockSize}`);
  return (t.dims.reduce((a, b) => a * b, 1) / blockSize) * blockBytes;
}

const pad = (n: number) => Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;

/** Little-endian bytes appended piece by piece (the header: a few MB with a 50k-token vocabulary). */
class Bytes {
  private parts: Buffer[] = [];
  length = 0;
  private push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  i32(v: number): void { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v: number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v: number): void { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  u8(v: number): void { this.push(Buffer.from([v])); }
  str(s: string): void { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.push(b); }
  zeros(n: number): void { if (n > 0) this.push(Buffer.alloc(n)); }
  concat(): Buffer { return Buffer.concat(this.parts, this.length); }
}

function writeValue(out: Bytes, v: GgufValue): void {
  out.u32(VALUE_TYPE[v.type]);
  switch (v.type) {
    case "uint32": return out.u32(v.value);
    case "int32": return out.i32(v.value);
    case "float32": return out.f32(v.value);
    case "bool": return out.u8(v.value ? 1 : 0);
    case "string": return out.str(v.value);
    case "array":
      out.u32(VALUE_TYPE[v.itemType]);
      out.u64(v.value.length);
      if (v.itemType === "string") for (const s of v.value) out.str(s);
      else for (const x of v.value) out.i32(x);
  }
}

/**
 * Writes one GGUF file: the header (metadata and every tensor's info) at `create`, then the tensors' data one at a
 * time, in the order they were declared, so that one tensor is in memory at a time.
 */
export class GgufWriter {
  private next = 0;
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly tensors: readonly GgufTensorInfo[],
    private readonly offsets: number[],
    private position: number,
  ) {}

  static async create(path: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorInfo[]): Promise<GgufWriter> {
    const names = new Set<string>();
    const head = new Bytes();
    head.u32(MAGIC);
    head.u32(VERSION);
    head.u64(tensors.length);
    head.u64(metadata.size);
    for (const [key, value] of metadata) {
      head.str(key);
      writeValue(head, value);
    }
    const offsets: number[] = [];
    let offset = 0;
    for (const t of tensors) {
      if (names.has(t.name)) throw new Error(`gguf: duplicate tensor name ${t.name}`);
      names.add(t.name);
      head.str(t.name);
      head.u32(t.dims.length);
      for (const d of t.dims) head.u64(d);
      head.u32(GGML_TYPES[t.type].id);
      head.u64(offset);
      offsets.push(offset);
      offset += pad(tensorBytes(t));
    }
    head.zeros(pad(head.length) - head.length);
    const fh = await open(path, "w");
    try {
      const bytes = head.concat();
      await fh.write(bytes, 0, bytes.length, 0);
      return new GgufWriter(path, fh, tensors, offsets, bytes.length);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** The data of the next declared tensor, already in its ggml type's byte layout. */
  async writeTensor(name: string, data: Uint8Array): Promise<void> {
    const t = this.tensors[this.next];
    if (t === undefined || t.name !== name) throw new Error(`gguf: expected tensor ${t?.name ?? "(none left)"}, got ${name}`);
    if (data.byteLength !== tensorBytes(t)) throw new Error(`gguf: tensor ${name}: ${data.byteLength} bytes, ${t.type} ${JSON.stringify(t.dims)} needs ${tensorBytes(t)}`);
    const start = this.position + this.offsets[this.next];
    await this.fh.write(data, 0, data.byteLength, start);
    const padding = pad(data.byteLength) - data.byteLength;
    if (padding > 0) await this.fh.write(Buffer.alloc(padding), 0, padding, start + data.byteLength);
    this.next++;
  }

  /** Close the file; every declared tensor must have been written. Returns the file's size in bytes. */
  async close(): Promise<number> {
    const missing = this.tensors[this.next]?.name;
    const size = (await this.fh.stat()).size;
    await this.fh.close();
    if (missing !== undefined) throw new Error(`gguf: ${this.path} closed before tensor ${missing} was written`);
    return size;
  }
}
