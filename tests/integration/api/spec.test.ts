import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_HYPERPARAMETERS, flagOf, HYPERPARAMETERS } from "../../../src/backends/training/spec.js";
import { registerTrain } from "../../../src/cli/commands/train.js";
import { DATA_OPTIONS } from "../../../src/data/options.js";
import { cliRunner } from "../../helpers/cli.js";
import { demoIds, noBackends, startTestApi, type TestApi } from "./harness.js";

// The training spec is the one source: every entry is a GraphQL input and output field with its default in the
// description, a `train` flag with the same default in its help, and the API and CLI fill the same defaults.
interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface IntrospectedField {
  name: string;
  description: string | null;
  type: TypeRef;
}
const INTROSPECT = `query($name: String!) { __type(name: $name) { inputFields { name description type { ...T } } fields { name description type { ...T } } } } fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`;
const GRAPHQL_TYPE = { int: "Int", float: "Float", bool: "Boolean", choice: "String", modules: "String" } as const;
const named = (t: TypeRef | null): string | null => (t === null ? null : (t.name ?? named(t.ofType)));
const defaultText = (d: unknown) => (Array.isArray(d) ? d.join(",") : String(d));

describe("the training spec drives the API, the CLI and the defaults", () => {
  let api: TestApi;
  let modelId: string;
  let datasetId: string;
  const cli = cliRunner(registerTrain);

  beforeAll(async () => {
    api = await startTestApi({ backends: noBackends, demo: true });
    ({ modelId, datasetId } = await demoIds(api));
  });
  afterAll(async () => {
    await api?.close();
  });

  const fields = async (type: string, kind: "inputFields" | "fields") => {
    const r = await api.gql<{ __type: Record<string, IntrospectedField[]> }>(INTROSPECT, { name: type });
    return new Map(r.data!.__type[kind]!.map((f) => [f.name, f]));
  };

  it("every hyperparameter is a GraphQL input field (nullable, its default in the description) and an output field", async () => {
    const input = await fields("TrainingHyperparametersInput", "inputFields");
    const output = await fields("TrainingHyperparameters", "fields");
    expect([...input.keys()]).toEqual(HYPERPARAMETERS.map(([n]) => n));
    expect([...output.keys()]).toEqual(HYPERPARAMETERS.map(([n]) => n));
    for (const [name, p] of HYPERPARAMETERS) {
      const f = input.get(name)!;
      expect(f.type.kind, name).not.toBe("NON_NULL");
      expect(named(f.type), name).toBe(GRAPHQL_TYPE[p.type]);
      expect(f.description, name).toContain(`default ${defaultText(p.default)}`);
      if (p.hf) expect(f.description, name).toContain(p.hf);
      expect(named(output.get(name)!.type), name).toBe(GRAPHQL_TYPE[p.type]);
    }
    const data = await fields("DataOptionsInput", "inputFields");
    expect([...data.keys()]).toEqual(DATA_OPTIONS.map(([n]) => n));
  });

  it("every hyperparameter is a train flag with the spec's default in its help", async () => {
    const help = (await cli(["train", "--help"])).out;
    for (const [name, p] of HYPERPARAMETERS) {
      const line = help.split("\n").findIndex((l) => l.trimStart().startsWith(flagOf(name) + " ") || l.trim() === flagOf(name));
      expect(line, name).toBeGreaterThanOrEqual(0);
      // commander wraps long help: the default is on the flag's line or the next ones
      expect(help.split("\n").slice(line, line + 3).join(" ").replace(/\s+/g, " "), name).toContain(`default ${defaultText(p.default)}`);
    }
    expect(help).toContain("--logging-steps <n>");
  });

  it("the API fills the spec's defaults (loggingSteps 500, as the CLI), and epochs alone derives the steps", async () => {
    const start = (hp: string) =>
      api.gql<{ startTraining: { id: string; maxSteps: number; hyperparameters: Record<string, unknown> } }>(
        `mutation { startTraining(input: { baseModelId: "${modelId}", datasetId: "${datasetId}"${hp} }) { id maxSteps hyperparameters { ${HYPERPARAMETERS.map(([n]) => n).join(" ")} } } }`,
      );
    const plain = await start("");
    expect(plain.errors).toBeUndefined();
    expect(plain.data!.startTraining.hyperparameters).toEqual(DEFAULT_HYPERPARAMETERS);
    expect(plain.data!.startTraining.hyperparameters.loggingSteps).toBe(500);
    await api.gql(`mutation { cancelTraining(id: "${plain.data!.startTraining.id}") { id } }`);
    const epochs = await start(", hyperparameters: { epochs: 2 }");
    expect(epochs.data!.startTraining.hyperparameters.maxSteps).toBe(0);
    expect(epochs.data!.startTraining.maxSteps).toBe(2 * 9); // 36 demo conversations, batches of 4
    await api.gql(`mutation { cancelTraining(id: "${epochs.data!.startTraining.id}") { id } }`);
  });

  it("issue 11 item 8: maxSteps 0 with epochs 1e9 is BAD_USER_INPUT naming input.hyperparameters.epochs; nothing is written", async () => {
    const before = await api.gql<{ trainingRuns: { totalCount: number } }>("{ trainingRuns { totalCount } }");
    const r = await api.gql<never>(
      `mutation { startTraining(input: { baseModelId: "${modelId}", datasetId: "${datasetId}", hyperparameters: { maxSteps: 0, epochs: 1e9 } }) { id } }`,
    );
    expect(r.status).toBe(200);
    expect(r.errors![0]).toMatchObject({
      message: "epochs must be a number in (0, 1000000], got 1000000000",
      extensions: { code: "BAD_USER_INPUT", field: "input.hyperparameters.epochs" },
    });
    const bad = await api.gql<never>(
      `mutation { startTraining(input: { baseModelId: "${modelId}", datasetId: "${datasetId}", hyperparameters: { loggingSteps: 0 } }) { id } }`,
    );
    expect(bad.errors![0]!.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.hyperparameters.loggingSteps" });
    const lang = await api.gql<never>(
      `mutation { startTraining(input: { baseModelId: "${modelId}", datasetId: "${datasetId}", data: { languages: ["English"] } }) { id } }`,
    );
    expect(lang.errors![0]!.extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.data.languages" });
    const after = await api.gql<{ trainingRuns: { totalCount: number } }>("{ trainingRuns { totalCount } }");
    expect(after.data!.trainingRuns.totalCount).toBe(before.data!.trainingRuns.totalCount);
  });

  it("the CLI names the flag where the API names the field", async () => {
    const r = await cli(["train", "--model", "m", "--data", "d", "--out", "o", "--logging-steps", "0"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe("tunegraph: --logging-steps must be an integer in [1, 1000000000], got 0\n");
    const lang = await cli(["train", "--model", "m", "--data", "d", "--out", "o", "--lang", "English"]);
    expect(lang.err).toMatch(/^tunegraph: --lang must be a list of language codes/);
  });
});
