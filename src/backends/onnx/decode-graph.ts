import { readFile } from "node:fs/promises";
import onnxProto from "onnx-proto";
import { ATTENTION_MASK, INPUT_IDS, LOGITS, newKvName, parsePresentName } from "../../model/onnx-names.js";

const onnx = onnxProto.onnx;
type Model = onnxProto.onnx.ModelProto;
type Graph = onnxProto.onnx.IGraphProto;
const MS = "com.microsoft";
const INT32 = onnx.TensorProto.DataType.INT32;

/**
 * How a session keeps the KV cache (kv-cache.ts):
 * - "in-place": each layer's attention writes the new keys and values into the cache tensors it is fed (the session
 *   fetches `present.i.*` into the very tensors it feeds as `past_key_values.i.*`), so a step copies no cache at all;
 * - "new-outputs": attention returns `present` (the whole cache, copied by the op every step) and the session fetches
 *   only the new positions of it (the outputs `addNewKvOutputs` adds) and writes them into the cache itself.
 */
export type KvMode = "in-place" | "new-outputs";

/** The session's copy of an exported decoder, rewritten for serving (the file on disk stays what other tools read). */
export interface DecodeModel {
  bytes: Uint8Array;
  metadata: Record<string, string>;
  kvMode: KvMode;
}

/**
 * `modelPath` rewritten for a session on `provider` (external weights stay where they are: the session is told their
 * folder): logits of the last position only, and the cache in place where the graph allows (`inPlaceAttention`:
 * MultiHeadAttention exports on the CPU), else new-KV outputs.
 */
export async function decodeModel(modelPath: string, provider: "cpu" | "cuda"): Promise<DecodeModel> {
  const model = onnx.ModelProto.decode(await readFile(modelPath));
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""]));
  const g = (model.graph ??= {});
  lastPositionLogits(g);
  // ORT's CUDA GroupQueryAttention has no float32 kernel: CUDA keeps MultiHeadAttention
  const kvMode: KvMode = provider === "cpu" && inPlaceAttention(g) ? "in-place" : "new-outputs";
  if (kvMode === "new-outputs") addNewKvOutputs(g);
  return { bytes: onnx.ModelProto.encode(model).finish(), metadata, kvMode };
}

let added = 0;
/** Append a node with a fresh output name (inputs as given); returns that name. */
function node(g: Graph, opType: string, input: string[], attrs: onnxProto.onnx.IAttributeProto[] = [], domain = ""): string {
  const name = `tunegraph.rewrite.${opType}_${added++}`;
  (g.node ??= []).push(onnx.NodeProto.create({ opType, input, output: [name], name, domain, attribute: attrs }));
  return name;
}

function int64(g: Graph, values: bigint[], scalar = false): string {
  const name = `tunegraph.const.${values.join("_")}${scalar ? "s" : ""}`;
  const inits = (g.initializer ??= []);
  if (!inits.some((t) => t.name === name)) {
    inits.push(onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.INT64, dims: scalar ? [] : [values.length], rawData: new Uint8Array(BigInt64Array.from(values).buffer) }));
  }
  return name;
}

const END = 2n ** 62n;
const LINEAR_OPS = new Set(["MatMul", "MatMulNBits", "Gemm"]);

/**
 * Run lm_head on the last position only: `logits` becomes [batch, 1, vocab]. Generation reads nothing else, and over
 * a prompt the full product would cost a vocab-wide matMul per prompt token. Found by walking back from `logits`
 * (Identity, the bias Add) to the first linear; false (graph unchanged) when the walk finds none.
 */
export function lastPositionLogits(g: Graph): boolean {
  const nodes = g.node ?? [];
  const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  let n = producer.get(LOGITS);
  while (n && !LINEAR_OPS.has(n.opType ?? "")) n = producer.get(n.input?.[0] ?? "");
  const output = g.output?.find((o) => o.name === LOGITS);
  if (!n || !n.input?.[0] || !output) return false;
  n.input[0] = node(g, "Slice", [n.input[0], int64(g, [-1n]), int64(g, [END]), int64(g, [1n])]);
  const dims = output.type?.tensorType?.shape?.dim;
  if (dims && dims.length === 3) dims[1] = { dimValue: 1 };
  return true;
}

/**
 * Replace every com.microsoft MultiHeadAttention that takes a past by a GroupQueryAttention over the same q, k, v
 * (kv_num_heads = num_heads) and the same past/present names. With `present` fetched into the `past` tensors, ORT's
 * GQA kernel sees one buffer and writes only the new positions. Its cache layout is each row's tokens from slot 0
 * (kv-cache.ts keeps it so), told by seqlens_k = Σ attention_mask − 1 per row and total_sequence_length = the mask's
 * width; the causal mask is its own, so the additive mask the export feeds MultiHeadAttention goes unused. ORT's GQA
 * takes several new tokens only for a batch of one (the batcher prefills one sequence at a time). False when the graph
 * has no such node (plain-op exports).
 */
export function inPlaceAttention(g: Graph): boolean {
  const nodes = g.node ?? [];
  const mhas = nodes.filter((n) => n.opType === "MultiHeadAttention" && n.domain === MS && n.input?.[6] && n.input?.[7]);
  if (mhas.length === 0) return false;
  const toInt32 = [onnx.AttributeProto.create({ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: INT32 })];
  const keepdims = [onnx.AttributeProto.create({ name: "keepdims", type: onnx.AttributeProto.AttributeType.INT, i: 0 })];
  const rowTokens = node(g, "ReduceSum", [ATTENTION_MASK, int64(g, [1n])], keepdims);
  const seqlensK = node(g, "Cast", [node(g, "Sub", [rowTokens, int64(g, [1n], true)])], toInt32);
  const width = node(g, "Gather", [node(g, "Shape", [ATTENTION_MASK]), int64(g, [1n], true)]);
  const total = node(g, "Cast", [width], toInt32);
  for (const mha of mhas) {
    const [q, k, v, , , , pastKey, pastValue] = mha.input!;
    const heads = mha.attribute?.find((a) => a.name === "num_heads");
    const attrs = [...(mha.attribute ?? []), onnx.AttributeProto.create({ name: "kv_num_heads", type: onnx.AttributeProto.AttributeType.INT, i: heads?.i })];
    const gqa = onnx.NodeProto.create({
      opType: "GroupQueryAttention", domain: MS, name: `${mha.name}/gqa`, attribute: attrs,
      input: [q, k, v, pastKey, pastValue, seqlensK, total], output: mha.output,
    });
    nodes[nodes.indexOf(mha)] = gqa;
  }
  return true;
}

/**
 * One output per `present.i.key/value` holding only its last `sequence_length` positions. onnxruntime-node copies
 * every fetched output into a fresh buffer, and `present` is the whole cache: fetching these instead turns a per-step
 * copy of the cache into a copy of one token's keys and values. False when the graph has no `present` outputs.
 */
export function addNewKvOutputs(g: Graph): boolean {
  const outputs = (g.output ??= []);
  const outs = outputs.filter((o) => parsePresentName(o.name ?? "") !== null);
  if (outs.length === 0) return false;
  // -sequence_length, as a 1-D tensor: the start of the new positions counted from the end
  const seqLen = node(g, "Slice", [node(g, "Shape", [INPUT_IDS]), int64(g, [1n]), int64(g, [2n])]);
  const negSeqLen = node(g, "Neg", [seqLen]);
  for (const o of outs) {
    const { layer, kind } = parsePresentName(o.name!)!;
    const name = newKvName(layer, kind);
    (g.node ??= []).push(onnx.NodeProto.create({ opType: "Slice", input: [o.name!, negSeqLen, int64(g, [END]), int64(g, [2n])], output: [name], name }));
    const t = o.type?.tensorType;
    const dims = t?.shape?.dim ?? [];
    outputs.push(onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: t?.elemType, shape: { dim: [dims[0] ?? {}, dims[1] ?? {}, { dimParam: "sequence_length" }, dims[3] ?? {}] } } },
    }));
  }
  return true;
}
