import { gzipSync } from "node:zlib";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { presetConfig } from "../../../src/model/config.js";
import { initModel } from "../../../src/model/init.js";
import type { HubRepo } from "../../helpers/hub-server.js";
import { oasstParquet } from "../../helpers/oasst-parquet.js";
import { jsonl, MESSAGE_ROWS } from "../../unit/data/fixtures.js";

export const COMMIT = "5c1dbeef0a6a41c19b5a2e1e4b3a6f1d2c3b4a59";
export const OLD_COMMIT = "0123456789abcdef0123456789abcdef01234567";

/**
 * Repos laid out as on the Hub: a tiny Phi checkpoint in two safetensors shards (with the files a real model repo also
 * holds that a checkpoint does not need), and an OASST1-shaped dataset repo (Parquet splits under data/, the
 * original .jsonl.gz exports beside them).
 */
export async function hubRepos(): Promise<{ repos: HubRepo[]; modelFiles: Record<string, Buffer>; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tg-hub-src-"));
  await initModel({ config: presetConfig("tiny"), out: dir, seed: 7, dtype: "F32", maxShardBytes: 16_000_000 });
  const modelFiles: Record<string, Buffer> = {};
  for (const f of await readdir(dir)) modelFiles[f] = await readFile(path.join(dir, f));
  const train = MESSAGE_ROWS.filter((r) => r.message_tree_id !== "P5");
  const validation = MESSAGE_ROWS.filter((r) => r.message_tree_id === "P5" || r.message_tree_id === "P4");
  const repos: HubRepo[] = [
    {
      type: "model",
      id: "test-org/tiny-phi",
      refs: { main: COMMIT, "v1.0": OLD_COMMIT },
      files: {
        ...modelFiles,
        "README.md": Buffer.from("---\nlicense: mit\n---\n# tiny phi\n"),
        ".gitattributes": Buffer.from("*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
        "pytorch_model.bin": Buffer.alloc(1000, 1),
        "onnx/model.onnx": Buffer.alloc(100, 2),
      },
    },
    {
      type: "dataset",
      id: "test-org/oasst-mini",
      refs: { main: COMMIT },
      files: {
        "README.md": Buffer.from("---\nlicense: apache-2.0\n---\n"),
        "data/train-00000-of-00001-b42a775f407cee45.parquet": oasstParquet(train),
        "data/validation-00000-of-00001-134b8fd0c89408b6.parquet": oasstParquet(validation),
        "2023-04-12_oasst_ready.messages.jsonl.gz": gzipSync(jsonl(MESSAGE_ROWS)),
      },
    },
    {
      type: "dataset",
      id: "test-org/no-parents",
      refs: { main: COMMIT },
      files: { "data/train-00000-of-00001.parquet": oasstParquet(MESSAGE_ROWS, { drop: ["parent_id"] }) },
    },
    {
      type: "dataset",
      id: "test-org/half-bad",
      refs: { main: COMMIT },
      files: {
        "data/train-00000-of-00001.parquet": oasstParquet(train),
        "data/validation-00000-of-00001.parquet": oasstParquet(validation, { drop: ["text"] }),
      },
    },
    { type: "dataset", id: "test-org/escape", refs: { main: COMMIT }, files: { "../../escape.parquet": oasstParquet(train) } },
    { type: "model", id: "test-org/private-phi", refs: { main: COMMIT }, files: modelFiles, token: "hf_testtoken" },
  ];
  return { repos, modelFiles, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
