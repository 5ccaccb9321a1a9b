import { open, type FileHandle } from "node:fs/promises";
import { UserError } from "./errors.js";
import { DTYPE_BYTES, decodeInto, encodeFloats, isDtype, isFloatDtype, type Dtype } from "./dtype.js";

export type { Dtype } from "./dtype.js";

/**
 * safetensors: u64 little-endian header length N, N bytes of JSON header
 * `{"__metadata__": {..}, name: {dtype, shape, data_offsets: [begin, end]}}` (offsets relative to the data start),
 * then the raw little-endian data. Tensors are read one at a time from the file handle.
 */

// same cap as the reference implementation: a larger header is a corrupt length field
const MAX_HEADER_BYTES = 100_000_000;
// chunk size for converting reads and writes: bounds the extra memory next to one tensor
const CHUNK_BYTES = 16 << 20;

interface TensorRecord {
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    readonly metadata: Record<string, string>,
    private readonly fh: FileHandle,
    private readonly dataStart: number,
    private readonly tensors: Map<string, TensorRecord>,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch {
      throw new UserError(`${path}: cannot open safetensors file`, "NOT_FOUND");
    }
    try {
      const size = (await fh.stat()).size;
      if (size < 8) throw new UserError(`${path}: corrupt safetensors file: ${size} bytes, too short for the header length`);
      const lenBuf = Buffer.alloc(8);
      await readFully(fh, lenBuf, 0, path);
      const headerLen = lenBuf.readBigUInt64LE(0);
      if (headerLen > BigInt(size - 8)) {
        throw new UserError(`${path}: corrupt safetensors file: header length ${headerLen} runs past the end of the file (${size} bytes)`);
      }
      if (headerLen > BigInt(MAX_HEADER_BYTES)) throw new UserError(`${path}: corrupt safetensors file: header length ${headerLen} exceeds ${MAX_HEADER_BYTES} bytes`);
      const n = Number(headerLen);
      const headerBuf = Buffer.alloc(n);
      await readFully(fh, headerBuf, 8, path);
      const { metadata, tensors } = parseHeader(headerBuf, size - 8 - n, path);
      return new SafetensorsFile(path, metadata, fh, 8 + n, tensors);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.record(name);
    return { dtype: t.dtype, shape: [...t.shape] };
  }

  /** The tensor's bytes as stored (little-endian). */
  async readRaw(name: string): Promise<Uint8Array> {
    const t = this.record(name);
    const out = new Uint8Array(t.end - t.begin);
    await readFully(this.fh, out, this.dataStart + t.begin, this.path, name);
    return out;
  }

  /** The tensor as float32 (F16/BF16 widened exactly, integers converted), read and converted chunk by chunk. */
  async readFloat32(name: string): Promise<Float32Array> {
    const t = this.record(name);
    const out = new Float32Array(elementCount(t.shape));
    if (t.dtype === "F32") {
      await readFully(this.fh, new Uint8Array(out.buffer), this.dataStart + t.begin, this.path, name);
      return out;
    }
    const chunk = new Uint8Array(Math.min(CHUNK_BYTES, t.end - t.begin));
    let done = 0;
    for (let pos = t.begin; pos < t.end; pos += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, t.end - pos));
      await readFully(this.fh, part, this.dataStart + pos, this.path, name);
      done += decodeInto(part, t.dtype, out, done);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  private record(name: string): TensorRecord {
    const t = this.tensors.get(name);
    if (!t) throw new UserError(`${this.path}: no tensor "${name}"`, "NOT_FOUND");
    return t;
  }
}

async function readFully(fh: FileHandle, buf: Uint8Array, position: number, path: string, tensor?: string): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) {
      const what = tensor ? `tensor "${tensor}"` : "header";
      throw new UserError(`${path}: ${what}: file ends early (truncated while reading)`);
    }
    off += bytesRead;
  }
}

function parseHeader(buf: Buffer, dataSize: number, path: string): { metadata: Record<string, string>; tensors: Map<string, TensorRecord> } {
  const fail = (msg: string): never => {
    throw new UserError(`${path}: corrupt safetensors header: ${msg}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(buf.toString("utf8"));
  } catch (e) {
    return fail(`invalid JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return fail("expected a JSON object");
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorRecord>();
  for (const [name, entry] of Object.entries(json)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return fail(`"__metadata__" must be an object of strings`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== "string") return fail(`"__metadata__"."${k}" must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (typeof entry !== "object" || entry === null) return fail(`${where}: expected an object`);
    const { dtype, shape, data_offsets: offs } = entry as Record<string, unknown>;
    if (!isDtype(dtype)) return fail(`${where}: unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(", ")})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return fail(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      return fail(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end > dataSize) return fail(`${where}: data_offsets [${begin}, ${end}] out of range: the data section has ${dataSize} bytes`);
    const need = elementCount(shape) * DTYPE_BYTES[dtype];
    if (end - begin !== need) return fail(`${where}: holds ${end - begin} bytes but ${dtype} × shape [${shape.join(", ")}] needs ${need}`);
    tensors.set(name, { dtype, shape, begin, end });
  }
  // the data section must be tiled exactly: no overlap, no gap, nothing trailing
  const sorted = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let pos = 0;
  let prev = "";
  for (const [name, t] of sorted) {
    if (t.begin < pos) return fail(`tensor "${name}": data_offsets [${t.begin}, ${t.end}] overlap tensor "${prev}" (ends at ${pos})`);
    if (t.begin > pos) return fail(`tensor "${name}": data bytes ${pos}..${t.begin} before it belong to no tensor`);
    pos = t.end;
    prev = name;
  }
  if (pos !== dataSize) return fail(`data bytes ${pos}..${dataSize} at the end belong to no tensor`);
  return { metadata, tensors };
}

export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
}

/**
 * Writes a safetensors file whose header (every name, dtype and shape) is known up front; the data then
 * streams in, tensor by tensor in `entries` order, in as many chunks as the caller likes.
 */
export class SafetensorsWriter {
  private index = 0;
  private written = 0; // bytes of entries[index] written so far

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly entries: (TensorEntry & { bytes: number })[],
  ) {}

  static async create(path: string, entries: TensorEntry[], metadata?: Record<string, string>): Promise<SafetensorsWriter> {
    const sized = entries.map((e) => ({ ...e, shape: [...e.shape], bytes: elementCount(e.shape) * DTYPE_BYTES[e.dtype] }));
    const header: Record<string, unknown> = {};
    if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
    let offset = 0;
    for (const e of sized) {
      if (e.name === "__metadata__" || Object.hasOwn(header, e.name)) throw new Error(`${path}: duplicate or reserved tensor name "${e.name}"`);
      header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes] };
      offset += e.bytes;
    }
    let json = Buffer.from(JSON.stringify(header), "utf8");
    const pad = (8 - (json.length % 8)) % 8;
    if (pad > 0) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(json.length));
    const fh = await open(path, "w");
    const w = new SafetensorsWriter(path, fh, sized);
    try {
      await w.put(prefix);
      await w.put(json);
    } catch (e) {
      await fh.close();
      throw e;
    }
    w.skipEmpty();
    return w;
  }

  /** Append raw little-endian bytes of tensor `name` (the one currently being written). */
  async write(name: string, bytes: Uint8Array): Promise<void> {
    const e = this.entries[this.index];
    if (!e || e.name !== name) throw new Error(`${this.path}: expected data for "${e?.name ?? "(none left)"}", got "${name}"`);
    if (this.written + bytes.byteLength > e.bytes) throw new Error(`${this.path}: tensor "${name}": ${this.written + bytes.byteLength} bytes written, header says ${e.bytes}`);
    await this.put(bytes);
    this.written += bytes.byteLength;
    if (this.written === e.bytes) {
      this.index++;
      this.written = 0;
      this.skipEmpty();
    }
  }

  /** Append float32 values of tensor `name`, converted chunk by chunk to its dtype. */
  async writeFloats(name: string, values: Float32Array): Promise<void> {
    if (values.length === 0) return;
    const e = this.entries[this.index];
    if (e?.name !== name || !isFloatDtype(e.dtype)) throw new Error(`${this.path}: expected data for "${e?.name ?? "(none left)"}", got float values for "${name}"`);
    const step = CHUNK_BYTES / 4;
    for (let i = 0; i < values.length; i += step) await this.write(name, encodeFloats(values.subarray(i, i + step), e.dtype));
  }

  /** Close the file; throws if any tensor did not receive all its bytes. */
  async close(): Promise<void> {
    await this.fh.close();
    const e = this.entries[this.index];
    if (e) throw new Error(`${this.path}: tensor "${e.name}" has ${this.written} of ${e.bytes} bytes`);
  }

  private skipEmpty(): void {
    while (this.index < this.entries.length && this.entries[this.index].bytes === 0) this.index++;
  }

  private async put(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) {
      const { bytesWritten } = await this.fh.write(bytes, off, bytes.byteLength - off).catch((e: NodeJS.ErrnoException) => {
        e.path ??= this.path; // a failed write (ENOSPC) does not say which file it was
        throw e;
      });
      off += bytesWritten;
    }
  }
}

export interface TensorData {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Float32Array for F32/F16/BF16 (converted on write), Int32Array for I32, BigInt64Array for I64, Uint8Array for U8 or raw bytes of any dtype. */
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

/** Write whole tensors to a safetensors file, in the given order. */
export async function writeSafetensors(path: string, tensors: TensorData[], metadata?: Record<string, string>): Promise<void> {
  for (const t of tensors) {
    const ok = t.data instanceof Float32Array ? isFloatDtype(t.dtype)
      : t.data instanceof Int32Array ? t.dtype === "I32"
      : t.data instanceof BigInt64Array ? t.dtype === "I64"
      : true;
    if (!ok) throw new Error(`${path}: tensor "${t.name}": ${t.data.constructor.name} cannot be written as ${t.dtype}`);
    const bytes = t.data instanceof Float32Array ? t.data.length * DTYPE_BYTES[t.dtype] : t.data.byteLength;
    if (bytes !== elementCount(t.shape) * DTYPE_BYTES[t.dtype]) throw new Error(`${path}: tensor "${t.name}": data does not match ${t.dtype} × [${t.shape.join(", ")}]`);
  }
  const w = await SafetensorsWriter.create(path, tensors, metadata);
  try {
    for (const t of tensors) {
      if (t.data instanceof Float32Array) await w.writeFloats(t.name, t.data);
      else if (t.data.byteLength > 0) await w.write(t.name, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  } catch (e) {
    await w.close().catch(() => undefined); // the write error is the one worth reporting
    throw e;
  }
  await w.close();
}
