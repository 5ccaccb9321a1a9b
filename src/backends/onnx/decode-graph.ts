import { readFile } from "node:fs/promises";
import onnxProto from "onnx-proto";
import { ATTENTION_MASK, INPUT_IDS, LOGITS, newKvName, parsePresentName } from "../../model/onnx-names.js";

const onnx = onnxProto.onnx;
type Graph = onnxProto.onnx.IGraphProto;
const MS = "com.microsoft";
const INT32 = onnx.TensorProto.DataType.INT32;

/**
 * How a step adds its keys and values to the KV cache (kv-cache.ts):
 * - "in-place": each layer's attention writes them into the cache tensors it is fed (the session fetches
 *   `present.i.*` into the very tensors it feeds as `past_key_values.i.*`), so the step copies no cache at all;
 * - "new-outputs": the session fetches only the new tokens' keys and values (outputs `tunegraph.new.i.*`:
 *   `readPastAttention`'s, or `addNewKvOutputs`' slices of `present`) and writes them into the cache itself.
 */
export type KvMode = "in-place" | "new-outputs";

/**
 * The session's copies of an exported decoder, rewritten for serving (the file on disk stays what other tools read):
 * both give the logits of the last position only. `decode` keeps the cache by new outputs (`readPastAttention`, or
 * `addNewKvOutputs` where that does not apply); `prefill` (the CPU only, exports with MultiHeadAttention) keeps it in
 * place through GroupQueryAttention: on phi-2 with ORT 1.30 a 512-token prompt took ~25% less time through it than
 * through `decode`, while its single-token steps were several times slower than `decode`'s (README: Serving on
 * CPUs), hence a session for each kind of step.
 */
export interface DecodeModels {
  metadata: Record<string, string>;
  decode: Uint8Array;
  prefill: Uint8Array | null;
}

/** `modelPath` rewritten for sessions on `provider` (external weights stay where they are: the session is told their folder). */
export async function decodeModels(modelPath: string, provider: "cpu" | "cuda"): Promise<DecodeModels> {
  const file = await readFile(modelPath);
  const rewrite = (g: Graph, kv: (g: Graph) => boolean): boolean => {
    lastPositionLogits(g);
    return kv(g);
  };
  const decode = onnx.ModelProto.decode(file);
  const metadata = Object.fromEntries((decode.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""]));
  rewrite((decode.graph ??= {}), (g) => readPastAttention(g) || addNewKvOutputs(g));
  // ORT's CUDA GroupQueryAttention has no float32 kernel: CUDA keeps MultiHeadAttention
  const prefill = provider === "cpu" ? onnx.ModelProto.decode(file) : null;
  const inPlace = prefill !== null && rewrite((prefill.graph ??= {}), inPlaceAttention);
  return { metadata, decode: onnx.ModelProto.encode(decode).finish(), prefill: inPlace ? onnx.ModelProto.encode(prefill).finish() : null };
}

let added = 0;
/** Append a node; its output is `output`, or a fresh name. Returns the output's name. */
function node(g: Graph, opType: string, input: string[], attrs: onnxProto.onnx.IAttributeProto[] = [], output?: string): string {
  const name = `tunegraph.rewrite.${opType}_${added++}`;
  (g.node ??= []).push(onnx.NodeProto.create({ opType, input, output: [output ?? name], name, attribute: attrs }));
  return output ?? name;
}

const ints = (name: string, values: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
const int = (name: string, value: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });

/** A constant initializer, one per name: shared by every user. */
function constant(g: Graph, name: string, dataType: number, dims: number[], data: Float32Array | BigInt64Array): string {
  const inits = (g.initializer ??= []);
  if (!inits.some((t) => t.name === name)) inits.push(onnx.TensorProto.create({ name, dataType, dims, rawData: new Uint8Array(data.buffer) }));
  return name;
}

const float = (g: Graph, value: number) => constant(g, `tunegraph.const.f${value}`, onnx.TensorProto.DataType.FLOAT, [], Float32Array.of(value));
const int64 = (g: Graph, values: bigint[], scalar = false) =>
  constant(g, `tunegraph.const.${values.join("_")}${scalar ? "s" : ""}`, onnx.TensorProto.DataType.INT64, scalar ? [] : [values.length], BigInt64Array.from(values));

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
  const toInt32 = [int("to", INT32)];
  const rowTokens = node(g, "ReduceSum", [ATTENTION_MASK, int64(g, [1n])], [int("keepdims", 0)]);
  const seqlensK = node(g, "Cast", [node(g, "Sub", [rowTokens, int64(g, [1n], true)])], toInt32);
  const width = node(g, "Gather", [node(g, "Shape", [ATTENTION_MASK]), int64(g, [1n], true)]);
  const total = node(g, "Cast", [width], toInt32);
  for (const mha of mhas) {
    const [q, k, v, , , , pastKey, pastValue] = mha.input!;
    const heads = mha.attribute?.find((a) => a.name === "num_heads");
    const attrs = [...(mha.attribute ?? []), int("kv_num_heads", Number(heads?.i))];
    const gqa = onnx.NodeProto.create({
      opType: "GroupQueryAttention", domain: MS, name: `${mha.name}/gqa`, attribute: attrs,
      input: [q, k, v, pastKey, pastValue, seqlensK, total], output: mha.output,
    });
    nodes[nodes.indexOf(mha)] = gqa;
  }
  return true;
}

/**
 * Replace every float32 com.microsoft MultiHeadAttention that takes a past by the same attention in standard ops that
 * read the past where it is: softmax over [q·pastᵀ, q·newᵀ] + the export's additive mask (the past's slots, then the
 * new tokens: the order of the new-outputs mask), times [past; new] values. MultiHeadAttention copies the whole cache
 * into `present` every step: on phi-2's heads at 640 slots it took 0.6–1.0 ms a layer against 0.2–0.36 ms this way
 * (bench/lib/attention-bound.ts measures both). The new tokens' keys and values ([batch, heads, seq, head_dim]) are
 * the new-KV outputs themselves and `present` is gone. False when the graph has no such node (float16 caches keep
 * MultiHeadAttention and `addNewKvOutputs`).
 */
export function readPastAttention(g: Graph): boolean {
  const nodes = g.node ?? [];
  // head_dim of each float32 past input (its last dimension)
  const headDims = new Map((g.input ?? []).filter((i) => i.type?.tensorType?.elemType === onnx.TensorProto.DataType.FLOAT)
    .map((i) => [i.name, Number(i.type?.tensorType?.shape?.dim?.[3]?.dimValue ?? 0)]));
  const mhas = nodes.filter((n) => n.opType === "MultiHeadAttention" && n.domain === MS && n.input?.[5] && headDims.get(n.input?.[6]) && headDims.get(n.input?.[7]));
  if (mhas.length === 0) return false;
  for (const mha of mhas) {
    const [q, k, v, , , maskBias, pastKey, pastValue] = mha.input!;
    const [context, presentKey] = mha.output!;
    const { layer } = parsePresentName(presentKey)!;
    const heads = Number(mha.attribute!.find((a) => a.name === "num_heads")!.i);
    const scale = mha.attribute?.find((a) => a.name === "scale")?.f || 1 / Math.sqrt(headDims.get(pastKey)!);
    nodes.splice(nodes.indexOf(mha), 1);
    // [batch, seq, hidden] → [batch, heads, seq, head_dim]
    const split = (t: string, out?: string) => node(g, "Transpose", [node(g, "Reshape", [t, int64(g, [0n, 0n, BigInt(heads), -1n])])], [ints("perm", [0, 2, 1, 3])], out);
    const keys = split(k, newKvName(layer, "key"));
    const values = split(v, newKvName(layer, "value"));
    const qs = node(g, "Mul", [split(q), float(g, scale)]);
    // (keys · qᵀ)ᵀ rather than q · keysᵀ: ORT's MatMul then streams the cache's rows instead of packing a transposed copy
    const swap = (t: string) => node(g, "Transpose", [t], [ints("perm", [0, 1, 3, 2])]);
    const qt = swap(qs);
    const scores = (t: string) => swap(node(g, "MatMul", [t, qt]));
    const probs = node(g, "Softmax", [node(g, "Add", [node(g, "Concat", [scores(pastKey), scores(keys)], [int("axis", 3)]), maskBias])], [int("axis", -1)]);
    const past = node(g, "Shape", [pastKey], [int("start", 2), int("end", 3)]);
    const onPast = node(g, "Slice", [probs, int64(g, [0n]), past, int64(g, [3n])]);
    const onNew = node(g, "Slice", [probs, past, int64(g, [END]), int64(g, [3n])]);
    const out = node(g, "Add", [node(g, "MatMul", [onPast, pastValue]), node(g, "MatMul", [onNew, values])]);
    node(g, "Reshape", [node(g, "Transpose", [out], [ints("perm", [0, 2, 1, 3])]), int64(g, [0n, 0n, -1n])], [], context);
  }
  const presents = (g.output ?? []).filter((o) => parsePresentName(o.name ?? "") !== null);
  g.output = [...(g.output ?? []).filter((o) => !presents.includes(o)), ...presents.map(newKvOutput)];
  return true;
}

/** The declaration of the new-KV output of a `present` output: its type, sequence_length positions. */
function newKvOutput(present: onnxProto.onnx.IValueInfoProto): onnxProto.onnx.ValueInfoProto {
  const { layer, kind } = parsePresentName(present.name!)!;
  const t = present.type?.tensorType;
  const d = t?.shape?.dim ?? [];
  return onnx.ValueInfoProto.create({
    name: newKvName(layer, kind),
    type: { tensorType: { elemType: t?.elemType, shape: { dim: [d[0] ?? {}, d[1] ?? {}, { dimParam: "sequence_length" }, d[3] ?? {}] } } },
  });
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
    const added = newKvOutput(o);
    node(g, "Slice", [o.name!, negSeqLen, int64(g, [END]), int64(g, [2n])], [], added.name);
    outputs.push(added);
  }
  return true;
}
