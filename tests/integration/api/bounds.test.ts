import { copyFile, mkdir, mkdtemp, readdir, rm, symlink, unlink } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Backends } from "../../../src/services/context.js";
import { presetConfig } from "../../../src/model/config.js";
import { initModel } from "../../../src/model/init.js";
import { loraConfig, writeAdapter } from "../../../src/model/peft.js";
import { noBackends, startTestApi, type TestApi } from "./harness.js";

// generate asks for the inference backend before it exports a base model: hand out one that fails if it is ever used
const refuse = () => Promise.reject(new Error("this test does not export or generate"));
const backends: Backends = {
  ...noBackends,
  inference: async () => ({ name: "none", describe: refuse, export: refuse, load: refuse, close: async () => {} }),
};

const config = presetConfig("tiny", { vocab_size: 500 });
const code = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;
const message = (r: { errors?: { message: string }[] }) => r.errors?.[0]?.message ?? "";

describe("user mistakes in model configs and registered directories (issue 11, items 8, 10, 11)", () => {
  let api: TestApi;
  let outside: string; // a directory outside the roots, holding a valid checkpoint and adapter
  beforeAll(async () => {
    api = await startTestApi({ backends });
    outside = await mkdtemp(path.join(os.tmpdir(), "tg-outside-"));
    await initModel({ config, out: path.join(outside, "model"), seed: 1, dtype: "F32" });
    const w = (m: string) => ({ module: `model.layers.0.self_attn.${m}`, inFeatures: 64, outFeatures: 64, A: new Float32Array(2 * 64), B: new Float32Array(64 * 2) });
    await writeAdapter(path.join(outside, "adapter"), loraConfig({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ["q_proj", "v_proj"] }), [w("q_proj"), w("v_proj")]);
  });
  afterAll(async () => {
    await api?.close();
    if (outside) await rm(outside, { recursive: true, force: true });
  });

  /** A copy of `outside/<what>` inside the roots whose `linked` file is a symlink back to the outside one. */
  async function insideWithLink(what: string, dirName: string, linked: string): Promise<string> {
    const dir = path.join(api.dataDir, "uploads", dirName);
    await mkdir(dir, { recursive: true });
    for (const f of await readdir(path.join(outside, what))) {
      if (f === linked) await symlink(path.join(outside, what, f), path.join(dir, f));
      else await copyFile(path.join(outside, what, f), path.join(dir, f));
    }
    return `uploads/${dirName}`;
  }

  it("item 8: initModel refuses sizes past the bounds, names the field and writes nothing", async () => {
    const huge = await api.gql("mutation { initModel(preset: \"tiny\", name: \"big\", overrides: { hidden_size: 2147483648 }) { id } }");
    expect(code(huge)).toBe("BAD_USER_INPUT");
    expect(message(huge)).toMatch(/hidden_size must be an integer from 1 to 65536, got 2147483648/);
    expect(existsSync(path.join(api.dataDir, "models", "big"))).toBe(false);
    const positions = await api.gql("mutation { initModel(preset: \"tiny\", name: \"big\", overrides: { max_position_embeddings: 1e15 }) { id } }");
    expect(message(positions)).toMatch(/max_position_embeddings must be an integer from 1 to 1048576/);
    const eps = await api.gql("mutation { initModel(preset: \"tiny\", name: \"big\", overrides: { layer_norm_eps: 1e400 }) { id } }");
    expect(code(eps)).toBe("BAD_USER_INPUT");
    expect(message(eps)).toMatch(/layer_norm_eps must be a finite number in \(0, 1\], got Infinity/);
    // the name is still free
    const ok = await api.gql<{ initModel: { name: string; config: { layer_norm_eps: number } } }>(
      "mutation { initModel(preset: \"tiny\", name: \"big\", overrides: { vocab_size: 500, layer_norm_eps: 1e-6 }) { name config } }");
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.initModel).toMatchObject({ name: "big", config: { layer_norm_eps: 1e-6 } });
  });

  it("item 10: a model or adapter directory inside the roots with a file linked to the outside is refused, naming the file", async () => {
    const model = await api.gql("mutation($p: String!) { registerModel(name: \"linked\", path: $p) { id } }", { p: await insideWithLink("model", "m1", "model.safetensors") });
    expect(code(model)).toBe("BAD_USER_INPUT");
    expect(message(model)).toMatch(/uploads\/m1\/model\.safetensors links to a file outside the allowed roots/);
    const tokenizer = await api.gql("mutation($p: String!) { registerModel(name: \"linked\", path: $p) { id } }", { p: await insideWithLink("model", "m2", "tokenizer.json") });
    expect(message(tokenizer)).toMatch(/uploads\/m2\/tokenizer\.json links to a file outside the allowed roots/);

    const good = await api.gql<{ registerModel: { id: string } }>("mutation($p: String!) { registerModel(name: \"good\", path: $p) { id } }", { p: await insideWithLink("model", "m3", "") });
    expect(good.errors).toBeUndefined();
    const baseModelId = good.data!.registerModel.id;
    const adapter = await api.gql("mutation($p: String!, $b: ID!) { importAdapter(name: \"linked\", path: $p, baseModelId: $b) { id } }",
      { p: await insideWithLink("adapter", "a1", "adapter_model.safetensors"), b: baseModelId });
    expect(code(adapter)).toBe("BAD_USER_INPUT");
    expect(message(adapter)).toMatch(/uploads\/a1\/adapter_model\.safetensors links to a file outside the allowed roots/);

    // a link put in after registration is refused when the model is next read (here: the export for generate)
    const weights = path.join(api.dataDir, "uploads", "m3", "model.safetensors");
    await unlink(weights);
    await symlink(path.join(outside, "model", "model.safetensors"), weights);
    const served = await api.gql("query($id: ID!) { generate(input: { modelId: $id, prompt: \"hi\" }) { text } }", { id: baseModelId });
    expect(code(served)).toBe("BAD_USER_INPUT");
    expect(message(served)).toMatch(/m3\/model\.safetensors links to a file outside the allowed roots/);
  });

  it("item 11: importAdapter refuses target_modules that the tensors do not hold, and reports the modules held", async () => {
    const base = await api.gql<{ registerModel: { id: string } }>("mutation($p: String!) { registerModel(name: \"base11\", path: $p) { id } }", { p: await insideWithLink("model", "m11", "") });
    const b = base.data!.registerModel.id;
    const dir = path.join(api.dataDir, "uploads", "a11");
    const w = (m: string) => ({ module: `model.layers.0.self_attn.${m}`, inFeatures: 64, outFeatures: 64, A: new Float32Array(2 * 64), B: new Float32Array(64 * 2) });
    await writeAdapter(dir, loraConfig({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ["out_proj", "gate_proj"] }), [w("q_proj"), w("v_proj")]);
    const wrong = await api.gql("mutation($b: ID!) { importAdapter(name: \"a11\", path: \"uploads/a11\", baseModelId: $b) { id } }", { b });
    expect(code(wrong)).toBe("BAD_USER_INPUT");
    expect(message(wrong)).toMatch(/target_modules names "out_proj", but .*adapter_model\.safetensors holds no lora_A\/lora_B tensors for it \(it holds q_proj, v_proj\)/);
    await writeAdapter(dir, loraConfig({ r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ["self_attn.v_proj", "q_proj"] }), [w("q_proj"), w("v_proj")]);
    const right = await api.gql<{ importAdapter: { targetModules: string[] } }>("mutation($b: ID!) { importAdapter(name: \"a11\", path: \"uploads/a11\", baseModelId: $b) { targetModules } }", { b });
    expect(right.errors).toBeUndefined();
    expect(right.data!.importAdapter.targetModules).toEqual(["q_proj", "v_proj"]);
  });
});
