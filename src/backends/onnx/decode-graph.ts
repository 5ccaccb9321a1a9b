import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import onnxProto from "onnx-proto";

const onnx = onnxProto.onnx;
type Model = onnxProto.onnx.ModelProto;

/** The outputs this engine adds: the step's new keys/values of layer i, [batch, num_heads, sequence_length, head_dim]. */
export const newKvName = (i: number, kind: "key" | "value") => `tunegraph.new.${i}.${kind}`;
const present = /^present\.(\d+)\.(key|value)$/;

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
  const outs = outputs.filter((o) => present.test(o.name ?? ""));
  if (outs.length === 0) return null;
  const int64 = (name: string, values: bigint[]) =>
    onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], rawData: new Uint8Array(BigInt64Array.from(values).buffer) });
  initializers.push(int64("tunegraph.one", [1n]), int64("tunegraph.two", [2n]), int64("tunegraph.end", [2n ** 62n]));
  const node = (opType: string, input: string[], output: string) => nodes.push(onnx.NodeProto.create({ opType, input, output: [output], name: output }));
  // -sequence_length, as a 1-D tensor: the start of the new positions counted from the end
  node("Shape", ["input_ids"], "tunegraph.ids_shape");
  node("Slice", ["tunegraph.ids_shape", "tunegraph.one", "tunegraph.two"], "tunegraph.seq_len");
  node("Neg", ["tunegraph.seq_len"], "tunegraph.neg_seq_len");
  for (const o of outs) {
    const [, layer, kind] = present.exec(o.name!)!;
    const name = newKvName(Number(layer), kind as "key" | "value");
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
 * Load `modelPath` with the new-KV outputs added, as what `InferenceSession.create` takes: the bytes, or (when weights
 * live in external files, which ORT finds next to the model) a temporary model file beside links to those files.
 * `release` removes the temporary files once the session exists. Null when the graph has no `present` outputs.
 */
export async function decodeModel(modelPath: string): Promise<{ source: Uint8Array | string; release: () => Promise<void> } | null> {
  const model = addNewKvOutputs(onnx.ModelProto.decode(await readFile(modelPath)));
  if (!model) return null;
  const bytes = onnx.ModelProto.encode(model).finish();
  const external = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const location = t.externalData?.find((e) => e.key === "location")?.value;
    if (location) external.add(location);
  }
  if (external.size === 0) return { source: bytes, release: async () => undefined };
  const dir = await mkdtemp(path.join(os.tmpdir(), "tunegraph-decode-"));
  for (const location of external) await symlink(path.resolve(path.dirname(modelPath), location), path.join(dir, location));
  const file = path.join(dir, path.basename(modelPath));
  await writeFile(file, bytes);
  return { source: file, release: () => rm(dir, { recursive: true, force: true }) };
}
