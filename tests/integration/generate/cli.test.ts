import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerGenerate } from "../../../src/cli/commands/generate.js";
import { cliRunner } from "../../helpers/cli.js";
import { tinyExportedModel } from "./fixture.js";

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tinyExportedModel());
});
afterAll(async () => cleanup?.());

const run = cliRunner(registerGenerate);
const cli = (...args: string[]) => run(["generate", ...args]);

describe("tunegraph generate", () => {
  it("prints the JSON result, the same greedy text as plain output, and streams the same text", async () => {
    const json = await cli("--model", dir, "--prompt", "Hello", "--max-new-tokens", "6", "--json", "--threads", "1");
    expect(json.code).toBeNull();
    const r = JSON.parse(json.out);
    expect(Object.keys(r).sort()).toEqual(["completionTokens", "finishReason", "promptTokens", "text", "timeToFirstTokenMs", "tokens", "tokensPerSecond"]);
    expect(r).toMatchObject({ finishReason: "length", completionTokens: 6, promptTokens: 1 });
    const plain = await cli("--model", dir, "--prompt", "Hello", "--max-new-tokens", "6");
    expect(plain.out).toBe(`${r.text}\n`);
    const streamed = await cli("--model", dir, "--prompt", "Hello", "--max-new-tokens", "6", "--stream", "--json");
    const lines = streamed.out.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.slice(0, -1).map((l) => l.chunk).join("")).toBe(r.text);
    expect(lines.at(-1).tokens).toEqual(r.tokens);
  });

  it("renders --message turns with the chat template", async () => {
    const r = JSON.parse((await cli("--model", dir, "--message", "system:Be brief.", "--message", "user:Hi", "--max-new-tokens", "2", "--json")).out);
    expect(r.promptTokens).toBeGreaterThan(5);
  });

  it("fails with one line naming the flag or field", async () => {
    const cases: [string[], RegExp][] = [
      [["--prompt", "x", "--temperature", "-1"], /^tunegraph: temperature must be >= 0/],
      [["--prompt", "x", "--top-p", "0"], /^tunegraph: topP must be in \(0, 1\]/],
      [["--prompt", "x", "--top-k", "-2"], /^tunegraph: topK/],
      [["--prompt", "x", "--max-new-tokens", "0"], /^tunegraph: maxNewTokens/],
      [["--prompt", ""], /^tunegraph: prompt must be a non-empty string/],
      [["--message", "robot:hi"], /^tunegraph: --message "robot:hi"/],
      [[], /^tunegraph: give --prompt/],
    ];
    for (const [args, message] of cases) {
      const r = await cli("--model", dir, ...args);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    }
    const missing = await cli("--model", `${dir}-nope`, "--prompt", "x");
    expect(missing.err).toMatch(/not an exported model directory/);
  });
});
