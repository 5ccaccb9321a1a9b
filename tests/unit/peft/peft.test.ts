import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { presetConfig } from "../../../src/model/config.js";
import { UserError } from "../../../src/model/errors.js";
import { loraConfig, readAdapter, writeAdapter, type LoraWeights } from "../../../src/model/peft.js";
import { SafetensorsFile, writeSafetensors } from "../../../src/model/safetensors.js";

const base = presetConfig("tiny"); // hidden 64, intermediate 256, 2 layers
let dir: string;
beforeEach(async () => { dir = await mkdtemp(path.join(os.tmpdir(), "tg-")); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const lora = (module: string, r: number, inF: number, outF: number, fill = 0.5): LoraWeights => ({
  module, inFeatures: inF, outFeatures: outF,
  A: Float32Array.from({ length: r * inF }, (_, i) => (i % 7) * 0.1),
  B: new Float32Array(outF * r).fill(fill),
});

async function rawAdapter(config: Record<string, unknown>, tensors: { name: string; shape: number[] }[]): Promise<void> {
  await writeFile(path.join(dir, "adapter_config.json"), JSON.stringify(config));
  await writeSafetensors(path.join(dir, "adapter_model.safetensors"),
    tensors.map((t) => ({ ...t, dtype: "F32" as const, data: new Float32Array(t.shape[0] * t.shape[1]) })), { format: "pt" });
}

describe("writeAdapter", () => {
  it("writes PEFT's adapter_config.json and safetensors layout", async () => {
    const config = loraConfig({ r: 4, loraAlpha: 16, loraDropout: 0.1, targetModules: ["q_proj", "fc2"], baseModel: "microsoft/phi-2" });
    await writeAdapter(dir, config, [lora("model.layers.1.self_attn.q_proj", 4, 64, 64), lora("model.layers.0.mlp.fc2", 4, 256, 64)]);
    const json = JSON.parse(await readFile(path.join(dir, "adapter_config.json"), "utf8"));
    expect(json).toMatchObject({ peft_type: "LORA", task_type: "CAUSAL_LM", r: 4, lora_alpha: 16, lora_dropout: 0.1, target_modules: ["q_proj", "fc2"],
      bias: "none", fan_in_fan_out: false, base_model_name_or_path: "microsoft/phi-2", use_rslora: false, inference_mode: true, modules_to_save: null });
    expect(Object.keys(json)).toEqual([...Object.keys(json)].sort());
    const f = await SafetensorsFile.open(path.join(dir, "adapter_model.safetensors"));
    expect(f.metadata).toEqual({ format: "pt" });
    expect(f.info("base_model.model.model.layers.0.mlp.fc2.lora_A.weight")).toEqual({ dtype: "F32", shape: [4, 256] });
    expect(f.info("base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight")).toEqual({ dtype: "F32", shape: [64, 4] });
    await f.close();
  });
});

describe("readAdapter", () => {
  it("reads back what it wrote, with alpha / r (or alpha / √r with use_rslora)", async () => {
    const w = lora("model.layers.0.self_attn.v_proj", 8, 64, 64, 0.25);
    await writeAdapter(dir, loraConfig({ r: 8, loraAlpha: 16, loraDropout: 0, targetModules: ["v_proj"] }), [w]);
    const a = await readAdapter(dir, base);
    expect(a.scale).toBe(2);
    expect(a.weights).toHaveLength(1);
    expect(a.weights[0].module).toBe("model.layers.0.self_attn.v_proj");
    expect(Array.from(a.weights[0].A)).toEqual(Array.from(w.A));
    expect(a.weights[0].B.every((v) => v === 0.25)).toBe(true);
    await writeAdapter(dir, loraConfig({ r: 8, loraAlpha: 16, loraDropout: 0, targetModules: ["v_proj"], useRslora: true }), [w]);
    expect((await readAdapter(dir)).scale).toBeCloseTo(16 / Math.sqrt(8), 12);
  });

  it("accepts keys with the adapter name (.default.) in them", async () => {
    await rawAdapter({ peft_type: "LORA", task_type: "CAUSAL_LM", r: 2, lora_alpha: 4, target_modules: ["fc1"] }, [
      { name: "base_model.model.model.layers.1.mlp.fc1.lora_A.default.weight", shape: [2, 64] },
      { name: "base_model.model.model.layers.1.mlp.fc1.lora_B.default.weight", shape: [256, 2] },
    ]);
    const a = await readAdapter(dir, base);
    expect(a.weights.map((w) => [w.module, w.inFeatures, w.outFeatures])).toEqual([["model.layers.1.mlp.fc1", 64, 256]]);
  });

  const qv = ["q_proj", "v_proj"].flatMap((m) => [
    { name: `base_model.model.model.layers.0.self_attn.${m}.lora_A.weight`, shape: [2, 64] },
    { name: `base_model.model.model.layers.0.self_attn.${m}.lora_B.weight`, shape: [64, 2] },
  ]);

  it("reports target_modules as the Phi modules the tensors hold (full module names accepted, as PEFT does)", async () => {
    await rawAdapter({ peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["model.layers.0.self_attn.v_proj", "q_proj"] }, qv);
    expect((await readAdapter(dir, base)).config.target_modules).toEqual(["q_proj", "v_proj"]);
  });

  const bad: [string, Record<string, unknown>, { name: string; shape: number[] }[], RegExp][] = [
    ["a shape for another base", { peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["q_proj"], base_model_name_or_path: "microsoft/phi-2" },
      [{ name: "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", shape: [2, 2560] }, { name: "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", shape: [2560, 2] }],
      /q_proj\.lora_A\.weight": expected shape \[2, 64\], found \[2, 2560\].*microsoft\/phi-2/],
    ["a layer out of range", { peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["q_proj"] },
      [{ name: "base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight", shape: [2, 64] }],
      /layers\.5\.self_attn\.q_proj\.lora_A\.weight": layer 5 is out of range: the base model has 2 layers/],
    ["an unknown module", { peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["o_proj"] },
      [{ name: "base_model.model.model.layers.0.self_attn.o_proj.lora_A.weight", shape: [2, 64] }],
      /"base_model\.model\.model\.layers\.0\.self_attn\.o_proj\.lora_A\.weight": unknown module self_attn\.o_proj/],
    ["a rank that disagrees with r", { peft_type: "LORA", r: 4, lora_alpha: 4, target_modules: ["fc2"] },
      [{ name: "base_model.model.model.layers.0.mlp.fc2.lora_A.weight", shape: [2, 256] }, { name: "base_model.model.model.layers.0.mlp.fc2.lora_B.weight", shape: [64, 2] }],
      /fc2\.lora_A\.weight": expected shape \[4, 256\], found \[2, 256\]/],
    ["a lone lora_A", { peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["fc2"] },
      [{ name: "base_model.model.model.layers.0.mlp.fc2.lora_A.weight", shape: [2, 256] }],
      /model\.layers\.0\.mlp\.fc2 has lora_A but no lora_B/],
    ["target_modules that name modules without tensors", { peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["out_proj", "gate_proj"] }, qv,
      /adapter_config\.json: target_modules names "out_proj", but .*adapter_model\.safetensors holds no lora_A\/lora_B tensors for it \(it holds q_proj, v_proj\)/],
    ["a tensor whose module is not in target_modules", { peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["q_proj"] }, qv,
      /tensor "base_model\.model\.model\.layers\.0\.self_attn\.v_proj\.lora_A\.weight": module model\.layers\.0\.self_attn\.v_proj is not in target_modules \(q_proj\)/],
    ["another PEFT method", { peft_type: "IA3", target_modules: ["fc2"] }, [], /peft_type is "IA3": only "LORA"/],
    ["DoRA", { peft_type: "LORA", r: 2, lora_alpha: 4, use_dora: true, target_modules: ["fc2"] }, [], /use_dora: true \(DoRA\) is not supported/],
  ];
  for (const [what, config, tensors, message] of bad) {
    it(`rejects ${what}`, async () => {
      await rawAdapter(config, tensors);
      const err = await readAdapter(dir, base).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(message);
    });
  }

  it("asks to convert a pickled adapter_model.bin, and names a non-PEFT directory", async () => {
    await writeFile(path.join(dir, "adapter_config.json"), JSON.stringify({ peft_type: "LORA", r: 2, lora_alpha: 4, target_modules: ["q_proj"] }));
    await writeFile(path.join(dir, "adapter_model.bin"), "PK");
    await expect(readAdapter(dir)).rejects.toThrow(/adapter_model\.bin .*convert it to safetensors/);
    const empty = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    await expect(readAdapter(empty)).rejects.toThrow(/not a PEFT adapter directory: no adapter_config\.json/);
    await rm(empty, { recursive: true });
    await expect(readAdapter(path.join(dir, "missing"))).rejects.toThrow(/adapter directory not found/);
  });
});
