/** A one-operator ONNX model, built in memory and opened on ORT's CPU provider: the probe behind bandwidth and peak. */
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";

const onnx = onnxProto.onnx;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

export interface OpSpec {
  opType: string;
  /** Float inputs with fixed shapes. */
  inputs: { name: string; shape: number[] }[];
  output: string;
  attributes?: Record<string, number | number[]>;
  /** Default 17; ops whose attributes later became inputs (ReduceSum's axes) need an older one. */
  opset?: number;
}

function valueInfo(name: string, shape: number[] | undefined): onnxProto.onnx.IValueInfoProto {
  const dim = shape?.map((d) => ({ dimValue: d }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: dim ? { dim } : undefined } } };
}

/** Serialize `spec` as a one-node model. */
export function opModel(spec: OpSpec): Uint8Array {
  const T = onnx.AttributeProto.AttributeType;
  const attribute = Object.entries(spec.attributes ?? {}).map(([name, v]) => (Array.isArray(v) ? { name, type: T.INTS, ints: v } : { name, type: T.INT, i: v }));
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: "tunegraph-bench",
    opsetImport: [{ domain: "", version: spec.opset ?? 17 }],
    graph: {
      name: spec.opType,
      node: [{ opType: spec.opType, input: spec.inputs.map((i) => i.name), output: [spec.output], attribute }],
      input: spec.inputs.map((i) => valueInfo(i.name, i.shape)),
      output: [valueInfo(spec.output, undefined)],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

/** A CPU session with `threads` intra-op threads (0: ORT's default, one per core). */
export function opSession(spec: OpSpec, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(opModel(spec), {
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
}
