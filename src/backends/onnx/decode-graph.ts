import { readFile } from "node:fs/promises";
import onnxProto from "onnx-proto";
import { INPUT_IDS, newKvName, parsePresentName } from "../../model/onnx-names.js";

const onnx = onnxProto.onnx;
type Model = onnxProto.onnx.ModelProto;


/**
 * The exported decoder plus one output per `present.i.key/value` holding only its last `sequence_length` positions.
 * onnxruntime-node copies every fetched output into a fresh buffer, and `present` is the whole cache: fetching these
 * instead turns a per-step copy of the cache into a copy of one token's keys and values. Null when the graph has no
 * `present` outputs.
 */
export function addNewKvOutputs(model: Model): Model | null {
  const g = model.graph;
  if (!g) return null;
  const outputs = (g.output ??= []), initializers = (g.initializer ??= []), nodes = (g.node ??= []);
  const outs = outputs.filter((o) => parsePresentName(o.name ?? "") !== null);
  if (outs.length === 0) return null;
  const int64 = (name: string, values: bigint[]) =>
    onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], rawData: new Uint8Array(BigInt64Array.from(values).buffer) });
  initializers.push(int64("tunegraph.one", [1n]), int64("tunegraph.two", [2n]), int64("tunegraph.end", [2n ** 62n]));
  const node = (opType: string, input: string[], output: string) => nodes.push(onnx.NodeProto.create({ opType, input, output: [output], name: output }));
  // -sequence_length, as a 1-D tensor: the start of the new positions counted from the end
  node("Shape", [INPUT_IDS], "tunegraph.ids_shape");
  node("Slice", ["tunegraph.ids_shape", "tunegraph.one", "tunegraph.two"], "tunegraph.seq_len");
  node("Neg", ["tunegraph.seq_len"], "tunegraph.neg_seq_len");
  for (const o of outs) {
    const { layer, kind } = parsePresentName(o.name!)!;
    const name = newKvName(layer, kind);
    node("Slice", [o.name!, "tunegraph.neg_seq_len", "tunegraph.end", "tunegraph.two"], name);
    const t = o.type?.tensorType;
    const dims = t?.shape?.dim ?? [];
    outputs.push(onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: t?.elemType, shape: { dim: [dims[0] ?? {}, dims[1] ?? {}, { dimParam: "sequence_length" }, dims[3] ?? {}] } } },
    }));
  }
  return model;
}

/**
 * `modelPath` with the new-KV outputs added, as bytes for `InferenceSession.create` (external weights stay where they
 * are: the session is told their folder; bytes null when the graph has no `present` outputs), and the model's metadata.
 */
export async function decodeModel(modelPath: string): Promise<{ bytes: Uint8Array | null; metadata: Record<string, string> }> {
  const decoded = onnx.ModelProto.decode(await readFile(modelPath));
  const metadata = Object.fromEntries((decoded.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""]));
  const model = addNewKvOutputs(decoded);
  return { bytes: model ? onnx.ModelProto.encode(model).finish() : null, metadata };
}
