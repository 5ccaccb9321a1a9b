import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { hubAccess } from "../../../src/hub/access.js";
import { selectDatasetFiles, selectModelFiles, type RepoFile } from "../../../src/hub/select.js";

const file = (p: string, lfs = false): RepoFile => ({ path: p, size: 10, oid: "a".repeat(40), ...(lfs ? { lfs: { oid: "b".repeat(64), size: 10 } } : {}) });
const paths = (files: RepoFile[]): string[] => files.map((f) => f.path);

// microsoft/phi-2's files
const PHI2 = [
  ".gitattributes", "CODE_OF_CONDUCT.md", "LICENSE", "NOTICE.md", "README.md", "SECURITY.md", "added_tokens.json", "config.json",
  "generation_config.json", "merges.txt", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
  "model.safetensors.index.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
].map((p) => file(p, p.endsWith(".safetensors")));

// OpenAssistant/oasst1's file list: the Parquet splits and the original exports
const OASST1 = [
  ".gitattributes", "2023-04-12_oasst_all.messages.jsonl.gz", "2023-04-12_oasst_all.trees.jsonl.gz", "2023-04-12_oasst_prompts.messages.jsonl.gz",
  "2023-04-12_oasst_ready.messages.jsonl.gz", "2023-04-12_oasst_ready.trees.jsonl.gz", "2023-04-12_oasst_spam.messages.jsonl.gz", "README.md",
  "data/train-00000-of-00001-b42a775f407cee45.parquet", "data/validation-00000-of-00001-134b8fd0c89408b6.parquet",
].map((p) => file(p, /\.(gz|parquet)$/.test(p)));

describe("which files a pull takes", () => {
  it("a model: config, shards and index, tokenizer and generation files; no docs, no .bin twins, nothing in folders", () => {
    expect(paths(selectModelFiles("microsoft/phi-2", [...PHI2, file("pytorch_model.bin", true), file("onnx/model.safetensors", true)]))).toEqual([
      "added_tokens.json", "config.json", "generation_config.json", "merges.txt", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
      "model.safetensors.index.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json",
    ]);
  });

  it("a model repo without safetensors or without config.json is refused, naming what it has", () => {
    expect(() => selectModelFiles("old/model", [file("config.json"), file("pytorch_model.bin", true)])).toThrow(
      "model repo old/model has no .safetensors weights (only pytorch_model.bin); tunegraph reads safetensors",
    );
    expect(() => selectModelFiles("x/y", [file("model.safetensors", true)])).toThrow("model repo x/y has no config.json at its top");
  });

  it("a dataset: its Parquet splits when it has them, else its JSON files; each split one file", () => {
    expect(selectDatasetFiles("OpenAssistant/oasst1", OASST1)).toEqual({
      files: OASST1.slice(8),
      splits: [
        { split: "train", path: "data/train-00000-of-00001-b42a775f407cee45.parquet" },
        { split: "validation", path: "data/validation-00000-of-00001-134b8fd0c89408b6.parquet" },
      ],
    });
    const jsonOnly = [file("README.md"), file("dataset_infos.json"), file("train.jsonl"), file("test.jsonl.gz", true)];
    expect(selectDatasetFiles("a/b", jsonOnly).splits).toEqual([{ split: "train", path: "train.jsonl" }, { split: "test", path: "test.jsonl.gz" }]);
    expect(selectDatasetFiles("a/one", [file("conversations.jsonl")]).splits).toEqual([{ split: "train", path: "conversations.jsonl" }]);
  });

  it("a dataset it cannot register file by file is refused before downloading", () => {
    expect(() => selectDatasetFiles("a/b", [file("README.md")])).toThrow("dataset repo a/b has no data files (.parquet, .jsonl, .json, .jsonl.gz, .json.gz)");
    expect(() => selectDatasetFiles("a/b", [file("data/train-00000-of-00002.parquet"), file("data/train-00001-of-00002.parquet")])).toThrow(
      "dataset repo a/b: split train is 2 files",
    );
    expect(() => selectDatasetFiles("a/b", [file("one.jsonl"), file("two.jsonl")])).toThrow("dataset repo a/b: cannot tell the split of one.jsonl");
  });
});

describe("HF_ENDPOINT, HF_TOKEN and HF_HUB_DOWNLOAD_TIMEOUT, read as huggingface_hub reads them", () => {
  it("defaults to huggingface.co with no token; a trailing slash is dropped", () => {
    expect(hubAccess({ HF_HOME: "/nonexistent" })).toEqual({ endpoint: "https://huggingface.co", downloadTimeoutMs: 10_000 });
    expect(hubAccess({ HF_HOME: "/nonexistent", HF_ENDPOINT: "https://hf-mirror.com/", HF_HUB_DOWNLOAD_TIMEOUT: "2.5" })).toEqual({
      endpoint: "https://hf-mirror.com",
      downloadTimeoutMs: 2500,
    });
    expect(() => hubAccess({ HF_HUB_DOWNLOAD_TIMEOUT: "0" })).toThrow('HF_HUB_DOWNLOAD_TIMEOUT must be a number of seconds > 0, got "0"');
    expect(() => hubAccess({ HF_ENDPOINT: "huggingface.co" })).toThrow('HF_ENDPOINT must be a URL, got "huggingface.co"');
  });

  it("takes HF_TOKEN first, then HF_TOKEN_PATH, then $HF_HOME/token (what `huggingface-cli login` writes)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tg-hf-"));
    try {
      await writeFile(path.join(dir, "token"), "hf_fromhome\n");
      await writeFile(path.join(dir, "other"), "hf_frompath\n");
      expect(hubAccess({ HF_HOME: dir }).token).toBe("hf_fromhome");
      expect(hubAccess({ HF_HOME: dir, HF_TOKEN_PATH: path.join(dir, "other") }).token).toBe("hf_frompath");
      expect(hubAccess({ HF_HOME: dir, HF_TOKEN: "hf_fromenv" }).token).toBe("hf_fromenv");
      expect(hubAccess({ XDG_CACHE_HOME: path.dirname(dir), HF_HOME: undefined }).token).toBeUndefined();
      expect(() => hubAccess({ HF_TOKEN: "abc" })).toThrow('HF_TOKEN (or the token file) must hold a Hugging Face token starting with "hf_"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
