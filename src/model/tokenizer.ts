import { copyFile, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { UserError } from "./errors.js";
import { buildPhi2TokenizerFiles, ENDOFTEXT, type TokenizerFiles } from "./tokenizer-builtin.js";
import { makeDir } from "./make-dir.js";
import {
  byteLevelTokenBytes,
  createStreamDecoder,
  type TokenPiece,
  type TokenStreamDecoder,
} from "./tokenizer-stream.js";

export type { TokenStreamDecoder } from "./tokenizer-stream.js";

/** The files of an HF tokenizer that a checkpoint directory may hold (tokenizer.json is the one we need). */
export const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "vocab.json",
  "merges.txt",
  "added_tokens.json",
] as const;

// HF's Rust tokenizers runs GPT-2's split regex on Oniguruma, whose \s is Unicode White_Space: it holds U+0085 and
// not U+FEFF, the other way round from JavaScript's \s. Spelled out, the two engines split alike.
const WS = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const GPT2_SPLIT = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  "gu",
);

type Json = Record<string, unknown>;

/** Phi's tokenizer (or any byte-level BPE tokenizer.json), run by @huggingface/tokenizers. */
export class PhiTokenizer {
  /** One past the largest id the tokenizer knows, added tokens included (50295 for phi-2; the model has 51200 rows). */
  readonly vocabSize: number;
  readonly eosTokenId: number;
  private pieces: TokenPiece[] | undefined;
  private static cachedBuiltin: PhiTokenizer | undefined;

  private constructor(private readonly hf: Tokenizer, eosToken: string, source: string) {
    const eos = hf.token_to_id(eosToken);
    if (eos === undefined) {
      throw new UserError(`${source}: eos_token ${JSON.stringify(eosToken)} is not in the vocabulary`);
    }
    this.eosTokenId = eos;
    let maxId = -1;
    for (const id of hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
  }

  /** The built-in phi-2 tokenizer (GPT-2's vocabulary and merges plus phi-2's added tokens), built once per process. */
  static builtin(): PhiTokenizer {
    PhiTokenizer.cachedBuiltin ??= PhiTokenizer.fromFiles(builtinFiles(), "built-in phi-2 tokenizer");
    return PhiTokenizer.cachedBuiltin;
  }

  /** Loads tokenizer.json (and tokenizer_config.json / special_tokens_map.json where present) from a directory. */
  static async fromDir(dir: string): Promise<PhiTokenizer> {
    const jsonPath = path.join(dir, "tokenizer.json");
    if (!existsSync(jsonPath)) throw new UserError(`no tokenizer.json in ${dir}`);
    const tokenizerJson = await readJson(jsonPath);
    const configPath = path.join(dir, "tokenizer_config.json");
    const mapPath = path.join(dir, "special_tokens_map.json");
    const tokenizerConfig = existsSync(configPath) ? await readJson(configPath) : {};
    const specialTokensMap = existsSync(mapPath) ? await readJson(mapPath) : {};
    return PhiTokenizer.fromFiles({ tokenizerJson, tokenizerConfig, specialTokensMap }, jsonPath);
  }

  private static fromFiles(files: TokenizerFiles, source: string): PhiTokenizer {
    let hf: Tokenizer;
    try {
      hf = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    } catch (err) {
      throw new UserError(`${source}: ${(err as Error).message}`);
    }
    const decoderType = hf.decoder?.config.type ?? null;
    if (decoderType !== "ByteLevel") {
      const type = JSON.stringify(decoderType);
      throw new UserError(`${source}: decoder type ${type} is not supported (phi tokenizers use ByteLevel)`);
    }
    // the library's ByteLevel pre-tokenizer keeps its split regex in a public `pattern` field
    const pre = hf.pre_tokenizer as unknown as { config: { type?: string }; pattern?: RegExp } | null;
    if (pre?.config.type === "ByteLevel" && pre.pattern) pre.pattern = GPT2_SPLIT;
    const eos = tokenName(files.tokenizerConfig.eos_token) ?? tokenName(files.specialTokensMap.eos_token) ?? ENDOFTEXT;
    return new PhiTokenizer(hf, eos, source);
  }

  encode(text: string): number[] {
    return this.hf.encode(text).ids;
  }

  /** Exact inverse of encode: no clean-up of spaces before punctuation (HF's clean_up_tokenization_spaces). */
  decode(ids: readonly number[], skipSpecial = false): string {
    if (ids.length === 0) return "";
    return this.hf.decode([...ids], { skip_special_tokens: skipSpecial, clean_up_tokenization_spaces: false });
  }

  /** Token-by-token decoding whose pieces, flushed at the end, join to decode(ids, skipSpecial). */
  streamDecoder(skipSpecial = false): TokenStreamDecoder {
    const pieces = (this.pieces ??= this.buildPieces());
    return createStreamDecoder((id) => pieces[id], skipSpecial);
  }

  private buildPieces(): TokenPiece[] {
    const bytesOf = byteLevelTokenBytes();
    const pieces: TokenPiece[] = new Array(this.vocabSize);
    for (const [token, id] of this.hf.get_vocab(true)) pieces[id] = bytesOf(token);
    for (const [id, added] of this.hf.get_added_tokens_decoder()) {
      pieces[id] = { text: added.content, special: added.special };
    }
    return pieces;
  }
}

let cachedFiles: TokenizerFiles | undefined;
function builtinFiles(): TokenizerFiles {
  cachedFiles ??= buildPhi2TokenizerFiles();
  return cachedFiles;
}

/** Writes the built-in phi-2 tokenizer.json, tokenizer_config.json and special_tokens_map.json into dir. */
export async function writeBuiltinTokenizer(dir: string): Promise<void> {
  const files = builtinFiles();
  await makeDir(dir);
  await writeJsonFile(path.join(dir, "tokenizer.json"), files.tokenizerJson);
  await writeJsonFile(path.join(dir, "tokenizer_config.json"), files.tokenizerConfig);
  await writeJsonFile(path.join(dir, "special_tokens_map.json"), files.specialTokensMap);
}

/** Copies whichever tokenizer files exist in fromDir (tokenizer.json must) into toDir; returns the names copied. */
export async function copyTokenizerFiles(fromDir: string, toDir: string): Promise<string[]> {
  if (!existsSync(path.join(fromDir, "tokenizer.json"))) throw new UserError(`no tokenizer.json in ${fromDir}`);
  await makeDir(toDir);
  const copied: string[] = [];
  for (const name of TOKENIZER_FILES) {
    if (!existsSync(path.join(fromDir, name))) continue;
    await copyFile(path.join(fromDir, name), path.join(toDir, name));
    copied.push(name);
  }
  return copied;
}

/** A special token as tokenizer_config.json writes it: a string or an AddedToken object with `content`. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && typeof (value as Json).content === "string") {
    return (value as Json).content as string;
  }
  return undefined;
}

async function readJson(file: string): Promise<Json> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new UserError(`${file}: invalid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UserError(`${file}: expected a JSON object`);
  }
  return value as Json;
}

async function writeJsonFile(file: string, value: unknown): Promise<void> {
  await writeFile(file, JSON.stringify(value, null, 2) + "\n");
}
