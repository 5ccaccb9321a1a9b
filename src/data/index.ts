/** The conversation data layer: readers for the five conversation forms, tokenization, batching. */
export { readConversations } from "./read.js";
export { splitGuanaco } from "./guanaco.js";
export { encodeConversation, encodeExample, IGNORE_INDEX, type TextTokenizer, type TokenizedExample } from "./encode.js";
export { prepareSequences, type PreparedSequences, type SequenceOptions } from "./sequences.js";
export { Batcher, collate, type Batch, type BatcherOptions, type BatcherState } from "./batcher.js";
export type { DataFormat, Example, ReadCounts, ReadResult, Role, Turn } from "./types.js";
