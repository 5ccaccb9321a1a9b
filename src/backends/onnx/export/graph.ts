import onnxProto from "onnx-proto";
import type { FileHandle } from "node:fs/promises";
import { f32ToF16 } from "../../../model/dtype.js";

export const onnx = onnxProto.onnx;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfo = onnxProto.onnx.IValueInfoProto;

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
export const INT64 = onnx.TensorProto.DataType.INT64;
export const UINT8 = onnx.TensorProto.DataType.UINT8;
export const BOOL = onnx.TensorProto.DataType.BOOL;

const A = onnx.AttributeProto.AttributeType;
export type Attr = onnxProto.onnx.IAttributeProto;
export const attr = {
  int: (i: number): Attr => ({ type: A.INT, i }),
  float: (f: number): Attr => ({ type: A.FLOAT, f }),
  ints: (ints: number[]): Attr => ({ type: A.INTS, ints }),
  str: (s: string): Attr => ({ type: A.STRING, s: new TextEncoder().encode(s) }),
};

/** Where initializer bytes go: into the protobuf itself, or appended to an external data file. */
export interface WeightSink {
  place(tensor: TensorProto, bytes: Uint8Array): Promise<void>;
  /** Bytes written outside the .onnx file. */
  readonly externalBytes: number;
}

export const inlineSink: WeightSink = {
  externalBytes: 0,
  async place(tensor, bytes) {
    tensor.rawData = bytes;
  },
};

/** Appends tensors to `file` (named `location` next to the model), each 4 KiB aligned so ORT can map it. */
export class ExternalSink implements WeightSink {
  externalBytes = 0;
  constructor(private readonly file: FileHandle, private readonly location: string) {}

  async place(tensor: TensorProto, bytes: Uint8Array): Promise<void> {
    const offset = Math.ceil(this.externalBytes / 4096) * 4096;
    await this.file.write(bytes, 0, bytes.length, offset);
    this.externalBytes = offset + bytes.length;
    tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    tensor.externalData = [
      { key: "location", value: this.location },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(bytes.length) },
    ];
  }
}

type Raw = Float32Array | Uint16Array | BigInt64Array | Uint8Array;

function bytesOf(a: Raw): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A small ONNX graph builder: unique value names, deduplicated constants, weights through a sink. */
export class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();

  constructor(private readonly sink: WeightSink) {}

  input(name: string, elemType: number, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: (number | string)[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Add a node; outputs are fresh names unless given. */
  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, opts: { domain?: string; outputs?: number | string[] } = {}): string[] {
    const id = this.counter++;
    const outs = Array.isArray(opts.outputs) ? opts.outputs : Array.from({ length: opts.outputs ?? 1 }, (_, i) => `/${opType}_${id}/out${i}`);
    this.nodes.push({
      name: `/${opType}_${id}`,
      opType,
      domain: opts.domain ?? "",
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([name, a]) => ({ ...a, name })),
    });
    return outs;
  }

  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, domain?: string): string {
    return this.node(opType, inputs, attrs, { domain })[0];
  }

  /** A weight: goes through the sink (inline or external data). */
  async weight(name: string, elemType: number, dims: number[], data: Float32Array | Uint8Array): Promise<string> {
    const t: TensorProto = { name, dataType: elemType, dims };
    await this.sink.place(t, bytesOf(data));
    this.initializers.push(t);
    return name;
  }

  /** A small constant kept inline, shared by every user of the same value. */
  constant(elemType: number, dims: number[], data: Raw): string {
    const bytes = bytesOf(data);
    const key = `${elemType}|${dims.join(",")}|${Buffer.from(bytes).toString("base64")}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = `/const_${this.constants.size}`;
    this.initializers.push({ name, dataType: elemType, dims, rawData: bytes.slice() });
    this.constants.set(key, name);
    return name;
  }

  ints(values: number[], scalar = false): string {
    return this.constant(INT64, scalar ? [] : [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  floats(values: number[], scalar = false): string {
    return this.constant(FLOAT, scalar ? [] : [values.length], Float32Array.from(values));
  }

  halfs(values: number[], scalar = false): string {
    return this.constant(FLOAT16, scalar ? [] : [values.length], Uint16Array.from(values.map(f32ToF16)));
  }

  /** Drop the nodes no declared output depends on (a graph built in full, then asked for less). */
  prune(): void {
    const needed = new Set(this.outputs.map((o) => o.name!));
    const kept: onnxProto.onnx.INodeProto[] = [];
    for (const n of [...this.nodes].reverse()) {
      if (!n.output!.some((o) => needed.has(o))) continue;
      kept.push(n);
      for (const i of n.input!) needed.add(i);
    }
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
  }

  encode(producer: string, opsets: Record<string, number>, metadata: Record<string, string> = {}): Uint8Array {
    const model: onnxProto.onnx.IModelProto = {
      irVersion: 8,
      producerName: producer,
      opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version })),
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: { name: "main", node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
