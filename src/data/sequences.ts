import { UserError } from "../model/errors.js";
import { encodeExample, IGNORE_INDEX, type TextTokenizer, type TokenizedExample } from "./encode.js";
import { skip, type Example } from "./types.js";

export interface SequenceOptions {
  maxSeqLength: number;
  completionOnly: boolean;
  /** Concatenate examples (EOS between them) into `maxSeqLength` blocks; each sequence attends only to itself. */
  packing: boolean;
  /** The model's `vocab_size`: a token id at or above it is an error naming the example. */
  vocabSize?: number;
  /** what the sequences are for, in the error when none is left ("training" unless said) */
  purpose?: "training" | "eval";
}

export interface PreparedSequences {
  sequences: TokenizedExample[];
  counts: {
    examples: number;
    sequences: number;
    /** Examples cut at `maxSeqLength` (without packing). */
    truncated: number;
    tokens: number;
    /** Tokens whose label is not -100. */
    trainedTokens: number;
    skipped: Record<string, number>;
  };
}

/** The loss uses labels shifted by one (HF causal LM): position 0's label never counts. */
function hasTrainedLabel(labels: number[]): boolean {
  for (let i = 1; i < labels.length; i++) if (labels[i] !== IGNORE_INDEX) return true;
  return false;
}

/**
 * Concatenate the examples (EOS after each that lacks one) and cut the stream into blocks. Each piece of a block is a
 * sequence of its own (a cut example continues in the next block as a new one): its segment id tells the engines to keep
 * attention and positions within it, and its first label is -100, so the shifted loss never predicts it from the
 * previous sequence (HF's DataCollatorWithFlattening does the same).
 */
function pack(examples: TokenizedExample[], blockSize: number, eosTokenId: number): TokenizedExample[] {
  const ids: number[] = [];
  const labels: number[] = [];
  const mask: number[] = [];
  const starts = new Set<number>();
  for (const ex of examples) {
    starts.add(ids.length);
    for (let i = 0; i < ex.inputIds.length; i++) {
      ids.push(ex.inputIds[i]);
      labels.push(ex.labels[i]);
      mask.push(ex.attentionMask?.[i] ?? 1);
    }
    if (ex.inputIds.at(-1) !== eosTokenId) {
      ids.push(eosTokenId);
      labels.push(eosTokenId);
      mask.push(1);
    }
  }
  const blocks: TokenizedExample[] = [];
  for (let s = 0; s < ids.length; s += blockSize) {
    const e = Math.min(s + blockSize, ids.length);
    const block = { inputIds: ids.slice(s, e), labels: labels.slice(s, e), attentionMask: mask.slice(s, e), segmentIds: [] as number[] };
    let segment = -1;
    for (let t = s; t < e; t++) {
      if (t === s || starts.has(t)) {
        segment++;
        block.labels[t - s] = IGNORE_INDEX;
      }
      block.segmentIds.push(segment);
    }
    blocks.push(block);
  }
  return blocks;
}

/**
 * Tokenize examples into training sequences: truncated to `maxSeqLength` (keeping the start, as HF does) or packed
 * into blocks of that length. Sequences without any trained label are dropped and counted.
 */
export function prepareSequences(examples: Example[], tokenizer: TextTokenizer, opts: SequenceOptions): PreparedSequences {
  if (!Number.isInteger(opts.maxSeqLength) || opts.maxSeqLength < 2) {
    throw new UserError(`maxSeqLength must be an integer >= 2, got ${opts.maxSeqLength}`);
  }
  const skipped: Record<string, number> = {};
  let truncated = 0;
  const encoded: TokenizedExample[] = [];
  examples.forEach((example, n) => {
    const ex = encodeExample(example, tokenizer, opts.completionOnly);
    if (opts.vocabSize !== undefined) {
      const bad = ex.inputIds.find((id) => id >= opts.vocabSize!);
      if (bad !== undefined) throw new UserError(`example ${n + 1}: token id ${bad} is outside the model's vocabulary (${opts.vocabSize})`);
    }
    if (!opts.packing && ex.inputIds.length > opts.maxSeqLength) {
      truncated++;
      ex.inputIds = ex.inputIds.slice(0, opts.maxSeqLength);
      ex.labels = ex.labels.slice(0, opts.maxSeqLength);
      if (ex.attentionMask) ex.attentionMask = ex.attentionMask.slice(0, opts.maxSeqLength);
    }
    if (hasTrainedLabel(ex.labels)) encoded.push(ex);
    else skip(skipped, "no_trained_tokens");
  });
  let sequences = encoded;
  if (opts.packing) {
    sequences = pack(encoded, opts.maxSeqLength, tokenizer.eosTokenId).filter((b) => {
      const keep = hasTrainedLabel(b.labels);
      if (!keep) skip(skipped, "packed_block_without_trained_tokens");
      return keep;
    });
  }
  if (sequences.length === 0) {
    const why = Object.entries(skipped).map(([k, n]) => `${k} ${n}`).join(", ");
    throw new UserError(`no ${opts.purpose ?? "training"} sequences: all ${examples.length} examples were dropped (${why})`);
  }
  let tokens = 0;
  let trainedTokens = 0;
  for (const s of sequences) {
    tokens += s.inputIds.length;
    for (let i = 1; i < s.labels.length; i++) if (s.labels[i] !== IGNORE_INDEX) trainedTokens++;
  }
  return { sequences, counts: { examples: examples.length, sequences: sequences.length, truncated, tokens, trainedTokens, skipped } };
}
