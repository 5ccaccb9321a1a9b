import { describe, expect, it } from "vitest";
import { expectedTensors } from "../../../src/model/checkpoint.js";
import { presetConfig } from "../../../src/model/config.js";
import { newKvName, parsePastName, parsePresentName, pastName, presentName } from "../../../src/model/onnx-names.js";
import { isLinearModule, LINEAR_MODULES, linearFeatures, modulePath } from "../../../src/model/phi-layout.js";

describe("Phi module layout", () => {
  it("names the six linears as transformers' PhiForCausalLM does, with phi-2's sizes", () => {
    const phi2 = presetConfig("phi-2");
    expect(LINEAR_MODULES.map((m) => modulePath(3, m))).toEqual([
      "model.layers.3.self_attn.q_proj", "model.layers.3.self_attn.k_proj", "model.layers.3.self_attn.v_proj",
      "model.layers.3.self_attn.dense", "model.layers.3.mlp.fc1", "model.layers.3.mlp.fc2",
    ]);
    expect(LINEAR_MODULES.map((m) => linearFeatures(phi2, m))).toEqual([
      [2560, 2560], [2560, 2560], [2560, 2560], [2560, 2560], [2560, 10240], [10240, 2560],
    ]);
    expect(isLinearModule("fc1")).toBe(true);
    expect(isLinearModule("lm_head")).toBe(false);
  });

  it("is the layout a checkpoint is checked against: every linear's weight [out, in] and bias [out]", () => {
    const c = presetConfig("tiny");
    const shapes = new Map(expectedTensors(c).map((t) => [t.name, t.shape]));
    for (let i = 0; i < c.num_hidden_layers; i++) {
      for (const m of LINEAR_MODULES) {
        const [inF, outF] = linearFeatures(c, m);
        expect(shapes.get(`${modulePath(i, m)}.weight`)).toEqual([outF, inF]);
        expect(shapes.get(`${modulePath(i, m)}.bias`)).toEqual([outF]);
      }
    }
    // embedding; per layer input_layernorm and the 6 linears, 2 tensors each; final_layernorm; lm_head weight and bias
    expect(shapes.size).toBe(1 + c.num_hidden_layers * 14 + 2 + 2);
  });
});

describe("ONNX I/O names", () => {
  it("spells the cache as optimum exports it and reads the names back", () => {
    expect([pastName(2, "key"), pastName(2, "value"), presentName(0, "key"), presentName(11, "value")]).toEqual([
      "past_key_values.2.key", "past_key_values.2.value", "present.0.key", "present.11.value",
    ]);
    expect(parsePastName("past_key_values.12.value")).toEqual({ layer: 12, kind: "value" });
    expect(parsePresentName("present.3.key")).toEqual({ layer: 3, kind: "key" });
    expect(parsePastName("present.3.key")).toBeNull();
    expect(parsePresentName(newKvName(3, "key"))).toBeNull();
  });
});
