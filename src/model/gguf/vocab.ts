/**
 * An HF byte-level BPE tokenizer.json as GGUF's `gpt2` tokenizer, the way llama.cpp's convert_hf_to_gguf.py
 * (get_vocab_base, _set_vocab_gpt2) writes it: one token string per model row (rows the tokenizer does not use become
 * `[PAD<id>]`, type UNUSED), token types (added special tokens CONTROL, other added tokens USER_DEFINED with their
 * raw text, the rest NORMAL) and the merges as "left right" strings.
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { buildPhi2TokenizerFiles } from "../tokenizer-builtin.js";

/** gguf-py's TokenType. */
export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface GgufVocab {
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  /** the unk_token of tokenizer_config.json, where it names one */
  unknownTokenId?: number;
}

type Json = Record<string, unknown>;

async function readJson(file: string): Promise<Json> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new UserError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new UserError(`${file}: expected a JSON object`);
  return value as Json;
}

/** A pre-tokenizer that is ByteLevel, or a Sequence holding one. */
function isByteLevel(pre: unknown): boolean {
  const p = pre as { type?: unknown; pretokenizers?: unknown[] } | null;
  if (p?.type === "ByteLevel") return true;
  return p?.type === "Sequence" && Array.isArray(p.pretokenizers) && p.pretokenizers.some(isByteLevel);
}

/** The tokenizer of checkpoint `dir` (its tokenizer.json, or the built-in phi-2 one when it has none, as export does). */
export async function readGgufVocab(dir: string, rows: number): Promise<GgufVocab> {
  const file = path.join(dir, "tokenizer.json");
  const source = existsSync(file) ? file : "built-in phi-2 tokenizer";
  const builtin = existsSync(file) ? undefined : buildPhi2TokenizerFiles();
  const json = builtin?.tokenizerJson ?? (await readJson(file));
  const configFile = path.join(dir, "tokenizer_config.json");
  const config = builtin?.tokenizerConfig ?? (existsSync(configFile) ? await readJson(configFile) : {});

  const model = json.model as { type?: unknown; vocab?: unknown; merges?: unknown } | undefined;
  if (model?.type !== "BPE" || !isByteLevel(json.pre_tokenizer)) {
    throw new UserError(`${source}: GGUF export writes a gpt2 (byte-level BPE) tokenizer; this one is ${JSON.stringify(model?.type ?? null)} with pre_tokenizer ${JSON.stringify((json.pre_tokenizer as Json | null)?.type ?? null)}`);
  }
  if (typeof model.vocab !== "object" || model.vocab === null || !Array.isArray(model.merges)) {
    throw new UserError(`${source}: model.vocab must be an object and model.merges a list`);
  }
  const byId = new Map<number, { text: string; type: number }>();
  const put = (text: string, id: unknown, type: number, what: string) => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) throw new UserError(`${source}: ${what} ${JSON.stringify(text)} has id ${JSON.stringify(id)}, expected an integer >= 0`);
    if (id >= rows) throw new UserError(`${source}: ${what} ${JSON.stringify(text)} has id ${id}, but the model has ${rows} embedding rows (vocab_size)`);
    byId.set(id, { text, type });
  };
  for (const [text, id] of Object.entries(model.vocab as Json)) put(text, id, TOKEN_TYPE.NORMAL, "token");
  for (const added of Array.isArray(json.added_tokens) ? (json.added_tokens as Json[]) : []) {
    if (typeof added.content !== "string") throw new UserError(`${source}: an added_tokens entry has no string "content"`);
    put(added.content, added.id, added.special === true ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED, "added token");
  }
  const tokens: string[] = [], tokenTypes: number[] = [];
  for (let id = 0; id < rows; id++) {
    const t = byId.get(id);
    tokens.push(t?.text ?? `[PAD${id}]`);
    tokenTypes.push(t?.type ?? TOKEN_TYPE.UNUSED);
  }
  const merges = (model.merges as unknown[]).map((m, i) => {
    if (typeof m === "string") return m;
    if (Array.isArray(m) && m.length === 2 && m.every((s) => typeof s === "string")) return `${m[0]} ${m[1]}`;
    throw new UserError(`${source}: model.merges[${i}] must be "left right" or ["left", "right"], got ${JSON.stringify(m)}`);
  });
  const unk = typeof config.unk_token === "string" ? config.unk_token : (config.unk_token as Json | undefined)?.content;
  const unknownTokenId = typeof unk === "string" ? tokens.indexOf(unk) : -1;
  return { tokens, tokenTypes, merges, ...(unknownTokenId >= 0 ? { unknownTokenId } : {}) };
}
