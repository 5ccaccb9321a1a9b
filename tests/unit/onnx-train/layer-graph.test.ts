import { describe, expect, it } from "vitest";
import { onnx } from "../../../src/backends/onnx/export/graph.js";
import { layerBackwardGraph, type LayerGraphOptions } from "../../../src/backends/onnx/train/layer-graph.js";
import { presetConfig } from "../../../src/model/config.js";
import { GRAD_PREFIX, LAYER_INPUT } from "../../../src/model/onnx-names.js";

const config = presetConfig("tiny");

function graphOf(o: Partial<LayerGraphOptions>, inputGradient: boolean) {
  const options: LayerGraphOptions = { quant: "nf4", targets: ["q_proj", "v_proj"], r: 4, scale: 2, dropout: true, gradientCheckpointing: false, ...o };
  const g = onnx.ModelProto.decode(layerBackwardGraph(config, options, inputGradient)).graph!;
  const consumed = new Set(g.node!.flatMap((n) => n.input!));
  return { outputs: g.output!.map((v) => v.name), nodes: g.node!.length, uses: (name: string) => consumed.has(name) };
}

describe("the bottom layer's backward graph", () => {
  it("returns the LoRA gradients only and drops what feeds nothing else: the MLP branch, the frozen input gradients, the layer norm's backward", () => {
    const full = graphOf({}, true), bottom = graphOf({}, false);
    expect(full.outputs).toContain(GRAD_PREFIX + LAYER_INPUT);
    expect(bottom.outputs).not.toContain(GRAD_PREFIX + LAYER_INPUT);
    expect(bottom.outputs).toEqual(full.outputs.filter((n) => n !== GRAD_PREFIX + LAYER_INPUT));
    expect(bottom.nodes).toBeLessThan(full.nodes / 2);
    for (const m of ["mlp.fc1", "mlp.fc2", "self_attn.q_proj", "self_attn.k_proj"]) {
      expect(full.uses(`${m}.weight.nf4`)).toBe(true);
      expect(bottom.uses(`${m}.weight.nf4`)).toBe(false); // no dY·W for a frozen linear whose input gradient nobody reads
    }
    expect(bottom.uses("self_attn.dense.weight.nf4")).toBe(true); // the way from the output to q and v
  });

  it("keeps a branch that holds a LoRA target", () => {
    const bottom = graphOf({ targets: ["q_proj", "fc2"] }, false);
    expect(bottom.uses("mlp.fc2.lora_A.T")).toBe(true);
    expect(bottom.uses("mlp.fc2.weight.nf4")).toBe(false);
    expect(bottom.uses("self_attn.v_proj.weight.nf4")).toBe(false);
  });
});
