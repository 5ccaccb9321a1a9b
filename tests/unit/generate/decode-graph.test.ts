import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { addNewKvOutputs } from "../../../src/backends/onnx/decode-graph.js";
import { newKvName } from "../../../src/model/onnx-names.js";

const onnx = onnxProto.onnx;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;

function model(outputs: string[]): onnxProto.onnx.ModelProto {
  const dims = [{ dimParam: "batch_size" }, { dimValue: 4 }, { dimParam: "total_sequence_length" }, { dimValue: 16 }];
  return onnx.ModelProto.create({
    graph: { output: outputs.map((name) => ({ name, type: { tensorType: { elemType: FLOAT16, shape: { dim: dims } } } })) },
  });
}

describe("addNewKvOutputs", () => {
  it("adds, per present output, the slice of its last sequence_length positions, with its type", () => {
    const m = addNewKvOutputs(model(["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"]))!;
    const outs = m.graph!.output!;
    expect(outs.map((o) => o.name)).toEqual(["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value",
      newKvName(0, "key"), newKvName(0, "value"), newKvName(1, "key"), newKvName(1, "value")]);
    const added = outs.at(-1)!.type!.tensorType!;
    expect(added.elemType).toBe(FLOAT16);
    expect(added.shape!.dim!.map((d) => d.dimParam || d.dimValue)).toEqual(["batch_size", 4, "sequence_length", 16]);
    const slice = m.graph!.node!.find((n) => n.output![0] === newKvName(1, "value"))!;
    expect(slice.opType).toBe("Slice");
    expect(slice.input![0]).toBe("present.1.value");
  });

  it("leaves a graph without a KV cache alone", () => {
    expect(addNewKvOutputs(model(["logits"]))).toBeNull();
  });
});
