import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PhiTokenizer, writeBuiltinTokenizer } from "../../../src/model/tokenizer.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const sample = path.resolve(repoRoot, "../shared/data/oasst1/en-validation.jsonl");

describe.skipIf(!existsSync(sample))("tokenizer on OpenAssistant texts", () => {
  // read lazily: describe bodies run at collection time even when skipped
  const readTexts = () =>
    readFileSync(sample, "utf8")
      .split("\n")
      .filter((line) => line.trim().length > 0)
      .map((line) => (JSON.parse(line) as { text: string }).text);

  it("gives the same ids built in and written + reloaded, and round-trips", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tg-"));
    try {
      await writeBuiltinTokenizer(dir);
      const loaded = await PhiTokenizer.fromDir(dir);
      const builtin = PhiTokenizer.builtin();
      const texts = readTexts();
      expect(texts.length).toBeGreaterThan(100);
      for (const text of texts) {
        const ids = builtin.encode(text);
        expect(loaded.encode(text)).toEqual(ids);
        expect(builtin.decode(ids)).toBe(text);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("streams every text back token by token", () => {
    const tok = PhiTokenizer.builtin();
    for (const text of readTexts()) {
      const decoder = tok.streamDecoder();
      let out = "";
      for (const id of tok.encode(text)) out += decoder.push(id);
      expect(out + decoder.flush()).toBe(text);
    }
  });
});
