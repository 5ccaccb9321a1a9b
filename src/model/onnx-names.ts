/**
 * The decoder's ONNX input and output names, in one place (as onnxruntime-genai's builder keeps them): those optimum
 * exports and transformers.js and onnxruntime-genai feed, plus the one output tunegraph's engine adds.
 */

export type KvKind = "key" | "value";

export const INPUT_IDS = "input_ids";
export const ATTENTION_MASK = "attention_mask";
export const POSITION_IDS = "position_ids";
export const LOGITS = "logits";

/** Input: layer i's cache so far, [batch, num_heads, past_sequence_length, head_dim]. */
export function pastName(layer: number, kind: KvKind): string {
  return `past_key_values.${layer}.${kind}`;
}

/** Output: layer i's cache with this step's tokens appended, [batch, num_heads, total_sequence_length, head_dim]. */
export function presentName(layer: number, kind: KvKind): string {
  return `present.${layer}.${kind}`;
}

/** Output the engine adds (decode-graph.ts): only this step's keys/values of `present`, [batch, num_heads, sequence_length, head_dim]. */
export function newKvName(layer: number, kind: KvKind): string {
  return `tunegraph.new.${layer}.${kind}`;
}

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;
const PRESENT = /^present\.(\d+)\.(key|value)$/;

/** Layer and kind of a `past_key_values.i.key/value` name; null for any other name. */
export function parsePastName(name: string): { layer: number; kind: KvKind } | null {
  return parseKv(PAST, name);
}

/** Layer and kind of a `present.i.key/value` name; null for any other name. */
export function parsePresentName(name: string): { layer: number; kind: KvKind } | null {
  return parseKv(PRESENT, name);
}

function parseKv(re: RegExp, name: string): { layer: number; kind: KvKind } | null {
  const m = re.exec(name);
  return m ? { layer: Number(m[1]), kind: m[2] as KvKind } : null;
}
