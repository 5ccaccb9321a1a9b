import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { addNewKvOutputs, inPlaceAttention, lastPositionLogits, readPastAttention } from "../../../src/backends/onnx/decode-graph.js";
import { newKvName } from "../../../src/model/onnx-names.js";

const onnx = onnxProto.onnx;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
type Graph = onnxProto.onnx.IGraphProto;

function graph(outputs: string[], nodes: onnxProto.onnx.INodeProto[] = []): Graph {
  const dims = [{ dimParam: "batch_size" }, { dimValue: 4 }, { dimParam: "total_sequence_length" }, { dimValue: 16 }];
  return onnx.GraphProto.create({
    node: nodes,
    output: outputs.map((name) => ({ name, type: { tensorType: { elemType: FLOAT16, shape: { dim: name === "logits" ? dims.slice(0, 3) : dims } } } })),
  });
}

const lmHead = [
  { opType: "MatMulNBits", domain: "com.microsoft", input: ["final_norm", "lm_head.weight_Q4", "lm_head.weight_scales"], output: ["y"] },
  { opType: "Add", input: ["y", "lm_head.bias"], output: ["y_b"] },
  { opType: "Identity", input: ["y_b"], output: ["logits"] },
];
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const pastInputs = (layers: number, elemType: number) => Array.from({ length: layers }, (_, i) => ["key", "value"].map((kind) => ({
  name: `past_key_values.${i}.${kind}`, type: { tensorType: { elemType, shape: { dim: [{ dimParam: "batch_size" }, { dimValue: 4 }, { dimParam: "past_sequence_length" }, { dimValue: 16 }] } } },
}))).flat();
const mha = (i: number) => ({
  opType: "MultiHeadAttention", domain: "com.microsoft", name: `mha${i}`,
  input: [`q${i}`, `k${i}`, `v${i}`, "", "", "mask_bias", `past_key_values.${i}.key`, `past_key_values.${i}.value`],
  output: [`ctx${i}`, `present.${i}.key`, `present.${i}.value`],
  attribute: [{ name: "num_heads", type: onnx.AttributeProto.AttributeType.INT, i: 4 }],
});

describe("addNewKvOutputs", () => {
  it("adds, per present output, the slice of its last sequence_length positions, with its type", () => {
    const g = graph(["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"]);
    expect(addNewKvOutputs(g)).toBe(true);
    const outs = g.output!;
    expect(outs.map((o) => o.name)).toEqual(["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value",
      newKvName(0, "key"), newKvName(0, "value"), newKvName(1, "key"), newKvName(1, "value")]);
    const added = outs.at(-1)!.type!.tensorType!;
    expect(added.elemType).toBe(FLOAT16);
    expect(added.shape!.dim!.map((d) => d.dimParam || d.dimValue)).toEqual(["batch_size", 4, "sequence_length", 16]);
    const slice = g.node!.find((n) => n.output![0] === newKvName(1, "value"))!;
    expect(slice.opType).toBe("Slice");
    expect(slice.input![0]).toBe("present.1.value");
  });

  it("leaves a graph without a KV cache alone", () => {
    expect(addNewKvOutputs(graph(["logits"]))).toBe(false);
  });
});

describe("lastPositionLogits", () => {
  it("feeds lm_head the last position of its input, and declares logits [batch, 1, vocab]", () => {
    const g = graph(["logits"], structuredClone(lmHead));
    expect(lastPositionLogits(g)).toBe(true);
    const head = g.node!.find((n) => n.opType === "MatMulNBits")!;
    const slice = g.node!.find((n) => n.output![0] === head.input![0])!;
    expect(slice.opType).toBe("Slice");
    expect(slice.input![0]).toBe("final_norm");
    const starts = g.initializer!.find((t) => t.name === slice.input![1])!;
    expect([...new BigInt64Array(starts.rawData!.slice().buffer)]).toEqual([-1n]);
    expect(g.output![0].type!.tensorType!.shape!.dim![1].dimValue).toBe(1);
  });

  it("leaves a graph whose logits come from no linear alone", () => {
    const g = graph(["logits"], [{ opType: "Identity", input: ["x"], output: ["logits"] }]);
    expect(lastPositionLogits(g)).toBe(false);
    expect(g.node).toHaveLength(1);
  });
});

describe("inPlaceAttention", () => {
  it("turns each MultiHeadAttention with a past into GroupQueryAttention on the same tensors, lengths from the mask", () => {
    const g = graph(["logits"], [mha(0), mha(1)]);
    expect(inPlaceAttention(g)).toBe(true);
    const gqas = g.node!.filter((n) => n.opType === "GroupQueryAttention");
    expect(gqas).toHaveLength(2);
    expect(g.node!.some((n) => n.opType === "MultiHeadAttention")).toBe(false);
    expect(gqas[1].input!.slice(0, 5)).toEqual(["q1", "k1", "v1", "past_key_values.1.key", "past_key_values.1.value"]);
    expect(gqas[1].output).toEqual(["ctx1", "present.1.key", "present.1.value"]);
    expect(Object.fromEntries(gqas[1].attribute!.map((a) => [a.name, Number(a.i)]))).toEqual({ num_heads: 4, kv_num_heads: 4 });
    // seqlens_k = Σ mask − 1 (int32), total_sequence_length = the mask's width (int32), shared by the layers
    const producer = (name: string) => g.node!.find((n) => n.output!.includes(name))!;
    expect(gqas[0].input!.slice(5)).toEqual(gqas[1].input!.slice(5));
    const seqlens = producer(gqas[0].input![5]);
    expect(seqlens.opType).toBe("Cast");
    expect(producer(seqlens.input![0]).opType).toBe("Sub");
    expect(producer(producer(seqlens.input![0]).input![0]).input![0]).toBe("attention_mask");
  });

  it("leaves graphs without MultiHeadAttention (plain-op exports) alone", () => {
    const g = graph(["logits"], structuredClone(lmHead));
    expect(inPlaceAttention(g)).toBe(false);
    expect(g.node).toHaveLength(3);
  });
});

describe("readPastAttention", () => {
  const layers = () => {
    const g = graph(["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"], [mha(0), mha(1)]);
    return g;
  };

  it("replaces MultiHeadAttention by standard ops that read the float32 past, and outputs the new keys and values instead of present", () => {
    const g = layers();
    g.input = pastInputs(2, FLOAT);
    expect(readPastAttention(g)).toBe(true);
    expect(g.node!.some((n) => n.opType === "MultiHeadAttention")).toBe(false);
    expect(g.output!.map((o) => o.name)).toEqual(["logits", newKvName(0, "key"), newKvName(0, "value"), newKvName(1, "key"), newKvName(1, "value")]);
    const producer = (name: string) => g.node!.find((n) => n.output!.includes(name))!;
    // the context keeps its name; the new keys are the layer's k in [batch, heads, seq, head_dim]
    expect(producer("ctx1").opType).toBe("Reshape");
    const newKey = producer(newKvName(1, "key"));
    expect(newKey.opType).toBe("Transpose");
    expect(producer(newKey.input![0]).input![0]).toBe("k1");
    // the past is read by MatMul directly (keys · qᵀ, values), never copied by a Concat
    const readers = g.node!.filter((n) => n.input!.includes("past_key_values.1.key") || n.input!.includes("past_key_values.1.value"));
    expect(new Set(readers.map((n) => n.opType))).toEqual(new Set(["MatMul", "Shape"]));
    // softmax over the past's slots then the new tokens, plus the export's mask bias
    const softmax = g.node!.filter((n) => n.opType === "Softmax")[1];
    const add = producer(softmax.input![0]);
    expect(add.input![1]).toBe("mask_bias");
    expect(producer(add.input![0]).opType).toBe("Concat");
  });

  it("leaves float16 caches (and graphs without MultiHeadAttention) to MultiHeadAttention's present outputs", () => {
    const g = layers();
    g.input = pastInputs(2, FLOAT16);
    expect(readPastAttention(g)).toBe(false);
    expect(g.node!.filter((n) => n.opType === "MultiHeadAttention")).toHaveLength(2);
    expect(readPastAttention(graph(["logits"], structuredClone(lmHead)))).toBe(false);
  });
});
