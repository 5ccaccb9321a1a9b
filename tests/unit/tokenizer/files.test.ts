import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../../src/model/errors.js";
import { copyTokenizerFiles, PhiTokenizer, writeBuiltinTokenizer } from "../../../src/model/tokenizer.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "tg-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const readJson = async (file: string) => JSON.parse(await readFile(file, "utf8"));

/** A minimal byte-level BPE tokenizer.json (merges in the newer pair format) with one special token. */
function tinyTokenizerJson(decoderType = "ByteLevel") {
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{ id: 6, content: "<eos>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: decoderType === "ByteLevel" ? byteLevel : { type: decoderType, replacement: "▁", prepend_scheme: "always", split: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, vocab: { a: 0, b: 1, "Ġ": 2, ab: 3, "Ġab": 4, "Ġb": 5 },
      merges: [["a", "b"], ["Ġ", "ab"], ["Ġ", "b"]] },
  };
}

describe("writeBuiltinTokenizer", () => {
  it("writes phi-2's tokenizer.json, tokenizer_config.json and special_tokens_map.json", async () => {
    const dir = path.join(tmp, "builtin");
    await writeBuiltinTokenizer(dir);
    expect((await readdir(dir)).sort()).toEqual(["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]);

    const json = await readJson(path.join(dir, "tokenizer.json"));
    expect(json.normalizer).toBeNull();
    expect(json.pre_tokenizer).toEqual({ type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true });
    expect(json.post_processor).toMatchObject({ type: "ByteLevel", trim_offsets: false });
    expect(json.decoder.type).toBe("ByteLevel");
    expect(json.model).toMatchObject({ type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false });
    expect(Object.keys(json.model.vocab)).toHaveLength(50257);
    expect(json.model.merges).toHaveLength(50000);
    expect(json.model.merges[0]).toBe("Ġ t");
    expect(json.added_tokens).toHaveLength(39);
    expect(json.added_tokens[0]).toEqual({ id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false,
      rstrip: false, normalized: false, special: true });
    expect(json.added_tokens[1]).toMatchObject({ id: 50257, content: " ".repeat(31), normalized: true, special: false });
    expect(json.added_tokens[30]).toMatchObject({ id: 50286, content: "  " });
    expect(json.added_tokens[31]).toMatchObject({ id: 50287, content: "\t".repeat(9), normalized: true, special: false });
    expect(json.added_tokens[38]).toMatchObject({ id: 50294, content: "\t\t" });

    const config = await readJson(path.join(dir, "tokenizer_config.json"));
    expect(config).toMatchObject({ tokenizer_class: "CodeGenTokenizer", bos_token: "<|endoftext|>", eos_token: "<|endoftext|>",
      unk_token: "<|endoftext|>", add_prefix_space: false, model_max_length: 2048, clean_up_tokenization_spaces: true });
    expect(Object.keys(config.added_tokens_decoder)).toHaveLength(39);
    expect(config.added_tokens_decoder["50294"]).toEqual({ content: "\t\t", lstrip: false, normalized: true, rstrip: false,
      single_word: false, special: false });
    expect(await readJson(path.join(dir, "special_tokens_map.json"))).toEqual({ bos_token: "<|endoftext|>",
      eos_token: "<|endoftext|>", unk_token: "<|endoftext|>" });
  });

  it("reloads with fromDir as the same tokenizer", async () => {
    const dir = path.join(tmp, "reload");
    await writeBuiltinTokenizer(dir);
    const loaded = await PhiTokenizer.fromDir(dir);
    expect(loaded.eosTokenId).toBe(50256);
    expect(loaded.vocabSize).toBe(50295);
    for (const text of [" Hello  world!", "a \uFEFFb\t\t\tc", "🤖 日本<|endoftext|>"]) {
      expect(loaded.encode(text)).toEqual(PhiTokenizer.builtin().encode(text));
    }
  });
});

describe("PhiTokenizer.fromDir", () => {
  it("loads any byte-level BPE tokenizer.json, eos from tokenizer_config.json", async () => {
    const dir = path.join(tmp, "tiny");
    await writeBuiltinTokenizer(dir);
    await writeFile(path.join(dir, "tokenizer.json"), JSON.stringify(tinyTokenizerJson()));
    await writeFile(path.join(dir, "tokenizer_config.json"), JSON.stringify({ eos_token: { content: "<eos>" } }));
    const tiny = await PhiTokenizer.fromDir(dir);
    expect(tiny.encode("ab ab b<eos>")).toEqual([3, 4, 5, 6]);
    expect(tiny.eosTokenId).toBe(6);
    expect(tiny.vocabSize).toBe(7);
    expect(tiny.decode([3, 4, 6], true)).toBe("ab ab");
  });

  it("takes eos from special_tokens_map.json when tokenizer_config.json is absent", async () => {
    const dir = path.join(tmp, "tiny-map");
    await writeBuiltinTokenizer(dir);
    await writeFile(path.join(dir, "tokenizer.json"), JSON.stringify(tinyTokenizerJson()));
    await rm(path.join(dir, "tokenizer_config.json"));
    await writeFile(path.join(dir, "special_tokens_map.json"), JSON.stringify({ eos_token: "<eos>" }));
    expect((await PhiTokenizer.fromDir(dir)).eosTokenId).toBe(6);
  });

  it("names the directory or file in its errors", async () => {
    const empty = path.join(tmp, "empty");
    await expect(PhiTokenizer.fromDir(empty)).rejects.toThrow(new UserError(`no tokenizer.json in ${empty}`));

    const broken = path.join(tmp, "broken");
    await writeBuiltinTokenizer(broken);
    await writeFile(path.join(broken, "tokenizer.json"), "{ not json");
    await expect(PhiTokenizer.fromDir(broken)).rejects.toThrow(/broken\/tokenizer\.json: invalid JSON/);

    await writeFile(path.join(broken, "tokenizer.json"), JSON.stringify(tinyTokenizerJson("Metaspace")));
    await expect(PhiTokenizer.fromDir(broken)).rejects.toThrow(/tokenizer\.json: decoder type "Metaspace" is not supported/);

    await writeFile(path.join(broken, "tokenizer.json"), JSON.stringify(tinyTokenizerJson()));
    await writeFile(path.join(broken, "tokenizer_config.json"), JSON.stringify({ eos_token: "</s>" }));
    await expect(PhiTokenizer.fromDir(broken)).rejects.toThrow(/eos_token "<\/s>" is not in the vocabulary/);
  });
});

describe("copyTokenizerFiles", () => {
  it("copies whichever tokenizer files exist", async () => {
    const from = path.join(tmp, "from");
    await writeBuiltinTokenizer(from);
    await writeFile(path.join(from, "merges.txt"), "#version: 0.2\n");
    await writeFile(path.join(from, "config.json"), "{}");
    const to = path.join(tmp, "to", "nested");
    const copied = await copyTokenizerFiles(from, to);
    expect(copied).toEqual(["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "merges.txt"]);
    expect((await readdir(to)).sort()).toEqual([...copied].sort());
    expect(await readFile(path.join(to, "tokenizer.json"), "utf8")).toBe(await readFile(path.join(from, "tokenizer.json"), "utf8"));
  });

  it("refuses a directory without tokenizer.json", async () => {
    const from = path.join(tmp, "no-tokenizer");
    await expect(copyTokenizerFiles(from, path.join(tmp, "x"))).rejects.toThrow(new UserError(`no tokenizer.json in ${from}`));
  });
});
