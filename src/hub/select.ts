import { UserError } from "../model/errors.js";

/** A file of a Hub repo as its tree listing gives it. */
export interface RepoFile {
  path: string;
  size: number;
  /** the git blob id (sha1 of `blob <size>\0<content>`); for an LFS file, of its pointer */
  oid: string;
  /** for a file stored with LFS (or Xet): the sha256 of its content */
  lfs?: { oid: string; size: number };
}

export type RepoKind = "model" | "dataset";

// What a Phi checkpoint directory holds (model/checkpoint.ts, model/tokenizer.ts): weights, config, tokenizer files
const CHECKPOINT_FILES = new Set([
  "config.json",
  "generation_config.json",
  "model.safetensors.index.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.json",
  "merges.txt",
  "special_tokens_map.json",
  "added_tokens.json",
]);

/** Only what a checkpoint needs, at the top of the repo: no PyTorch `.bin` twins, ONNX exports, images or READMEs. */
export function selectModelFiles(repo: string, files: RepoFile[]): RepoFile[] {
  const chosen = files.filter((f) => !f.path.includes("/") && (CHECKPOINT_FILES.has(f.path) || f.path.endsWith(".safetensors")));
  if (!chosen.some((f) => f.path === "config.json")) throw new UserError(`model repo ${repo} has no config.json at its top: not a transformers checkpoint`);
  if (!chosen.some((f) => f.path.endsWith(".safetensors"))) {
    const weights = files.filter((f) => /\.(bin|pt|pth|h5|msgpack|ckpt)$/.test(f.path)).map((f) => f.path);
    throw new UserError(`model repo ${repo} has no .safetensors weights${weights.length ? ` (only ${weights.slice(0, 3).join(", ")})` : ""}; tunegraph reads safetensors`);
  }
  return chosen;
}

/** A split of a dataset repo and the one file that holds it. */
export interface SplitFile {
  split: string;
  path: string;
}

const DATA_EXTENSIONS = [".parquet", ".jsonl", ".json", ".jsonl.gz", ".json.gz"];
// JSON files in dataset repos that are metadata, not rows
const METADATA = /(^|\/)(dataset_infos?|state|dataset_dict)\.json$/;
// HF's split naming: `train-00000-of-00001-<hash>.parquet`, `data/validation.jsonl`, `test/part-0.json`...
const SPLIT = /(?:^|[/_.-])(train|validation|valid|dev|test|eval)(?=[/_.-]|$)/;

/**
 * A dataset's data files: its Parquet files when it has any (the layout `datasets` writes and reads), else its JSON
 * Lines / JSON files (optionally gzipped). Each split must be one file (tunegraph registers one file per dataset);
 * a lone file without a split name is the train split.
 */
export function selectDatasetFiles(repo: string, files: RepoFile[]): { files: RepoFile[]; splits: SplitFile[] } {
  const data = files.filter((f) => DATA_EXTENSIONS.some((e) => f.path.endsWith(e)) && !METADATA.test(f.path));
  const parquet = data.filter((f) => f.path.endsWith(".parquet"));
  const chosen = parquet.length > 0 ? parquet : data;
  if (chosen.length === 0) throw new UserError(`dataset repo ${repo} has no data files (${DATA_EXTENSIONS.join(", ")})`);
  if (chosen.length === 1) return { files: chosen, splits: [{ split: SPLIT.exec(chosen[0]!.path)?.[1] ?? "train", path: chosen[0]!.path }] };
  const bySplit = new Map<string, string[]>();
  for (const f of chosen) {
    const split = SPLIT.exec(f.path)?.[1];
    if (!split) throw new UserError(`dataset repo ${repo}: cannot tell the split of ${f.path} (expected train, validation or test in its name)`);
    bySplit.set(split, [...(bySplit.get(split) ?? []), f.path]);
  }
  for (const [split, paths] of bySplit) {
    if (paths.length > 1) throw new UserError(`dataset repo ${repo}: split ${split} is ${paths.length} files (${paths.slice(0, 3).join(", ")}...); tunegraph registers one file per dataset`);
  }
  return { files: chosen, splits: [...bySplit].map(([split, paths]) => ({ split, path: paths[0]! })) };
}
