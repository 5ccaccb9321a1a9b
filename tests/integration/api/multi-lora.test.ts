import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBackends } from "../../../src/backends/registry.js";
import { presetConfig } from "../../../src/model/config.js";
import { randomAdapter } from "../../helpers/random-adapter.js";
import { collect, startTestApi, type TestApi, until } from "./harness.js";

// adapters served unmerged on a base model, picked per request, over GraphQL
const OVERRIDES = { initializer_range: 0.15 };
let api: TestApi;
let baseId: string, otherBaseId: string;
const adapters: Record<string, string> = {};


beforeAll(async () => {
  api = await startTestApi({ backends: createBackends(), worker: true, env: { TUNEGRAPH_LORA_MAX_RANK: "16" } });
  const init = async (name: string, overrides: Record<string, unknown>) =>
    (await api.gql<{ initModel: { id: string } }>(`mutation ($o: JSONObject) { initModel(preset: "tiny", name: "${name}", overrides: $o, seed: 3) { id } }`, { o: overrides })).data!.initModel.id;
  baseId = await init("base", OVERRIDES);
  otherBaseId = await init("wider", { ...OVERRIDES, hidden_size: 96, num_attention_heads: 6 });
  const specs = [
    ["qv", baseId, presetConfig("tiny", OVERRIDES), { r: 8, alpha: 16, targets: ["q_proj", "v_proj"], seed: 21 }],
    ["mlp", baseId, presetConfig("tiny", OVERRIDES), { r: 4, alpha: 8, targets: ["fc1", "fc2"], rslora: true, seed: 22 }],
    ["big", baseId, presetConfig("tiny", OVERRIDES), { r: 32, alpha: 32, targets: ["q_proj"], seed: 23 }],
    ["wider", otherBaseId, presetConfig("tiny", { ...OVERRIDES, hidden_size: 96, num_attention_heads: 6 }), { r: 4, alpha: 8, targets: ["q_proj"], seed: 24 }],
  ] as const;
  for (const [name, base, config, spec] of specs) {
    const dir = path.join(api.dataDir, "peft", name);
    await randomAdapter(dir, config, { ...spec, targets: [...spec.targets] });
    const r = await api.gql<{ importAdapter: { id: string } }>(`mutation { importAdapter(name: "${name}", path: "${dir}", baseModelId: "${base}") { id } }`);
    expect(r.errors).toBeUndefined();
    adapters[name] = r.data!.importAdapter.id;
  }
}, 120_000);
afterAll(async () => api?.close());

type Gen = { generate: { text: string; tokens?: number[]; adapter: { id: string } | null; model: { id: string } } };
const generate = (modelId: string, adapterId?: string) =>
  api.gql<Gen>(`query ($m: ID!, $a: ID) { generate(input: { modelId: $m, adapterId: $a, prompt: "Hello adapters", maxNewTokens: 8 }) { text adapter { id } model { ... on BaseModel { id } ... on MergedModel { id } } } }`, { m: modelId, a: adapterId });

describe("generate with input.adapterId (multi-LoRA over GraphQL)", () => {
  it("serves base + adapter with the merged model's text, streamed too, while other requests share the model", async () => {
    const merge = await api.gql<{ mergeAdapter: { id: string } }>(`mutation { mergeAdapter(adapterId: "${adapters.qv}", precision: FP32) { id } }`);
    const mergedId = merge.data!.mergeAdapter.id;
    await until("the merge", async () => {
      const m = await api.gql<{ mergedModel: { status: string } }>(`{ mergedModel(id: "${mergedId}") { status } }`);
      return m.data!.mergedModel.status === "READY" ? true : null;
    });
    const [served, plain, mlp] = await Promise.all([generate(baseId, adapters.qv), generate(baseId), generate(baseId, adapters.mlp)]);
    for (const r of [served, plain, mlp]) expect(r.errors).toBeUndefined();
    const merged = await generate(mergedId);
    expect(served.data!.generate.text).toBe(merged.data!.generate.text);
    expect(served.data!.generate.text).not.toBe(plain.data!.generate.text);
    expect(served.data!.generate).toMatchObject({ adapter: { id: adapters.qv }, model: { id: baseId } });
    expect(plain.data!.generate.adapter).toBeNull();

    const client = api.ws();
    const stream = await collect<{ generationStream: { text: string; done: boolean; generation: { text: string; adapter: { id: string } } | null } }>(
      client,
      `subscription ($m: ID!, $a: ID) { generationStream(input: { modelId: $m, adapterId: $a, prompt: "Hello adapters", maxNewTokens: 8 }) { text done generation { text adapter { id } } } }`,
      { m: baseId, a: adapters.mlp },
    );
    await client.dispose();
    expect(stream.errors).toEqual([]);
    const last = stream.events.at(-1)!.generationStream;
    expect(stream.events.map((e) => e.generationStream.text).join("")).toBe(last.generation!.text);
    expect(last.generation).toEqual({ text: mlp.data!.generate.text, adapter: { id: adapters.mlp } });
  });

  it("refuses an adapter that does not fit with one error naming it, and keeps serving", async () => {
    const cases: [Promise<{ errors?: { message: string }[] }>, RegExp][] = [
      [generate(baseId, adapters.wider), new RegExp(`adapterId: adapter wider belongs to base model ${otherBaseId}, not to ${baseId}`)],
      [generate(baseId, adapters.big), /adapter .*peft\/big: rank 32 is above this export's max rank 16: merge the adapter .*TUNEGRAPH_LORA_MAX_RANK=32\)$/],
      [generate(baseId, "nope"), /adapterId: no adapter nope/],
    ];
    for (const [call, message] of cases) {
      const r = await call;
      expect(r.errors).toHaveLength(1);
      expect(r.errors![0].message).toMatch(message);
    }
    const ok = await generate(baseId, adapters.qv);
    expect(ok.errors).toBeUndefined();
  });
});
