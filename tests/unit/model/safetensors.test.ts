import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SafetensorsFile, SafetensorsWriter, writeSafetensors } from "../../../src/model/safetensors.js";
import { UserError } from "../../../src/model/errors.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A safetensors file from a raw header (object or text) and data bytes; `len` overrides the length field. */
async function rawFile(name: string, header: unknown, data: Uint8Array, len?: bigint): Promise<string> {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(len ?? BigInt(json.length));
  const p = path.join(dir, name);
  await writeFile(p, Buffer.concat([prefix, json, data]));
  return p;
}

async function openError(p: string): Promise<UserError> {
  const err = await SafetensorsFile.open(p).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

describe("safetensors round trip", () => {
  it("writes and reads every dtype, with metadata", async () => {
    const p = path.join(dir, "all.safetensors");
    const floats = new Float32Array([0, 1, -2.5, 0.125, 1024, -0.0625]);
    await writeSafetensors(p, [
      { name: "f32", dtype: "F32", shape: [2, 3], data: new Float32Array([0.1, -7.3, 3e-8, 1e20, -0, 5]) },
      { name: "f16", dtype: "F16", shape: [6], data: floats },
      { name: "bf16", dtype: "BF16", shape: [3, 2], data: floats },
      { name: "i64", dtype: "I64", shape: [2], data: new BigInt64Array([-(2n ** 40n), 3n]) },
      { name: "i32", dtype: "I32", shape: [1, 2], data: new Int32Array([-7, 2 ** 30]) },
      { name: "u8", dtype: "U8", shape: [3], data: new Uint8Array([0, 128, 255]) },
      { name: "empty", dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
    ], { format: "pt", note: "kept" });
    const f = await SafetensorsFile.open(p);
    try {
      expect(f.metadata).toEqual({ format: "pt", note: "kept" });
      expect(f.names().sort()).toEqual(["bf16", "empty", "f16", "f32", "i32", "i64", "u8"]);
      expect(f.info("bf16")).toEqual({ dtype: "BF16", shape: [3, 2] });
      expect(await f.readFloat32("f32")).toEqual(new Float32Array([0.1, -7.3, 3e-8, 1e20, -0, 5]));
      expect(await f.readFloat32("f16")).toEqual(floats);
      expect(await f.readFloat32("bf16")).toEqual(floats);
      expect(new BigInt64Array((await f.readRaw("i64")).buffer)).toEqual(new BigInt64Array([-(2n ** 40n), 3n]));
      expect([...(await f.readFloat32("i32"))]).toEqual([-7, 2 ** 30]);
      expect([...(await f.readRaw("u8"))]).toEqual([0, 128, 255]);
      expect((await f.readFloat32("empty")).length).toBe(0);
      expect((await f.readRaw("f16")).byteLength).toBe(12);
    } finally {
      await f.close();
    }
  });

  it("pads the header with spaces to a multiple of 8 and keeps offsets relative to the data", async () => {
    const p = path.join(dir, "pad.safetensors");
    await writeSafetensors(p, [
      { name: "a", dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 3]) },
      { name: "b", dtype: "F32", shape: [1], data: new Float32Array([2]) },
    ]);
    const buf = await readFile(p);
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const text = buf.subarray(8, 8 + n).toString();
    expect(JSON.parse(text)).toEqual({ a: { dtype: "U8", shape: [3], data_offsets: [0, 3] }, b: { dtype: "F32", shape: [1], data_offsets: [3, 7] } });
    expect(text.trimEnd().length + (n - text.trimEnd().length)).toBe(n);
    expect(buf.length).toBe(8 + n + 7);
    expect(buf.readFloatLE(8 + n + 3)).toBe(2);
  });

  it("converts large float tensors chunk by chunk and stays exact", async () => {
    const p = path.join(dir, "big.safetensors");
    const n = 5_000_000; // more than one 16 MiB conversion chunk
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (i % 2048) - 1024;
    await writeSafetensors(p, [{ name: "x", dtype: "F16", shape: [n], data }]);
    const f = await SafetensorsFile.open(p);
    const back = await f.readFloat32("x");
    await f.close();
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (back[i] !== data[i]) mismatches++;
    expect(back.length).toBe(n);
    expect(mismatches).toBe(0);
  });

  it("streams a tensor in several writes and refuses a short one", async () => {
    const p = path.join(dir, "stream.safetensors");
    const w = await SafetensorsWriter.create(p, [{ name: "a", dtype: "F32", shape: [4] }, { name: "b", dtype: "U8", shape: [2] }]);
    await w.writeFloats("a", new Float32Array([1, 2]));
    await w.writeFloats("a", new Float32Array([3, 4]));
    await expect(w.write("a", new Uint8Array(1))).rejects.toThrow(/expected data for "b"/);
    await w.write("b", new Uint8Array([9]));
    await expect(w.close()).rejects.toThrow(/tensor "b" has 1 of 2 bytes/);
  });
});

describe("corrupt safetensors files", () => {
  const f32 = (vals: number[]) => new Uint8Array(new Float32Array(vals).buffer);

  it("header length past the end of the file", async () => {
    const p = await rawFile("len.safetensors", { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f32([1]), 10_000n);
    const e = await openError(p);
    expect(e.message).toContain(p);
    expect(e.message).toMatch(/header length 10000 runs past the end of the file/);
  });

  it("a file too short for the length field", async () => {
    const p = path.join(dir, "short.safetensors");
    await writeFile(p, Buffer.from([1, 2, 3]));
    expect((await openError(p)).message).toMatch(/too short/);
  });

  it("invalid JSON", async () => {
    const p = await rawFile("json.safetensors", '{"a": {"dtype": "F32",', f32([1]));
    expect((await openError(p)).message).toMatch(/json\.safetensors: corrupt safetensors header: invalid JSON/);
  });

  it("offsets out of range", async () => {
    const p = await rawFile("range.safetensors", { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, f32([1]));
    expect((await openError(p)).message).toMatch(/tensor "a": data_offsets \[0, 8\] out of range: the data section has 4 bytes/);
  });

  it("overlapping tensors", async () => {
    const p = await rawFile("overlap.safetensors", {
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
    }, f32([1, 2, 3]));
    expect((await openError(p)).message).toMatch(/tensor "b": data_offsets \[4, 12\] overlap tensor "a"/);
  });

  it("bytes that belong to no tensor (gap and trailing)", async () => {
    const gap = await rawFile("gap.safetensors", { a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f32([1, 2]));
    expect((await openError(gap)).message).toMatch(/tensor "a": data bytes 0\.\.4 before it belong to no tensor/);
    const tail = await rawFile("tail.safetensors", { a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f32([1, 2]));
    expect((await openError(tail)).message).toMatch(/data bytes 4\.\.8 at the end belong to no tensor/);
  });

  it("byte size not equal to dtype size × shape", async () => {
    const p = await rawFile("size.safetensors", { a: { dtype: "F16", shape: [3], data_offsets: [0, 8] } }, f32([1, 2]));
    expect((await openError(p)).message).toMatch(/tensor "a": holds 8 bytes but F16 × shape \[3\] needs 6/);
  });

  it("unknown dtype, bad shape, bad offsets, bad metadata", async () => {
    const dt = await rawFile("dtype.safetensors", { a: { dtype: "F64", shape: [1], data_offsets: [0, 8] } }, f32([1, 2]));
    expect((await openError(dt)).message).toMatch(/tensor "a": unknown dtype "F64"/);
    const sh = await rawFile("shape.safetensors", { a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, f32([1]));
    expect((await openError(sh)).message).toMatch(/tensor "a": shape must be an array of non-negative integers/);
    const off = await rawFile("offs.safetensors", { a: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, f32([1]));
    expect((await openError(off)).message).toMatch(/tensor "a": data_offsets must be \[begin, end\]/);
    const md = await rawFile("meta.safetensors", { __metadata__: { format: 1 } }, new Uint8Array(0));
    expect((await openError(md)).message).toMatch(/"__metadata__"."format" must be a string/);
  });

  it("a file truncated after a valid header is reported on read, naming the tensor", async () => {
    const p = path.join(dir, "trunc.safetensors");
    await writeSafetensors(p, [{ name: "w", dtype: "F32", shape: [4], data: new Float32Array([1, 2, 3, 4]) }]);
    const whole = await readFile(p);
    await writeFile(p, whole.subarray(0, whole.length - 4));
    expect((await openError(p)).message).toMatch(/tensor "w": data_offsets \[0, 16\] out of range/);
  });

  it("a missing file", async () => {
    const e = await openError(path.join(dir, "nope.safetensors"));
    expect(e.code).toBe("NOT_FOUND");
  });
});
