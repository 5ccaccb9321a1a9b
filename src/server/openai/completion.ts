import { randomUUID } from "node:crypto";
import type { Response } from "express";
import type { Logger } from "pino";
import type { ServiceContext } from "../../services/context.js";
import { generate, type GenerateInput } from "../../services/generations.js";
import { errorBody, toOpenAIError, type ParamNames } from "./errors.js";
import type { Sampling } from "./sampling.js";
import { EventStream } from "./sse.js";

/** What differs between chat completions and text completions: ids, object names, and how text sits in a choice. */
export interface CompletionShape {
  idPrefix: string;
  object: string;
  chunkObject: string;
  /** the choice of a whole response */
  choice(text: string, finishReason: string): object;
  /** a streamed choice carrying new text (`first`: the stream's first choice) */
  delta(text: string, first: boolean): object;
  /** the streamed choice that ends it */
  last(finishReason: string): object;
}

/** OpenAI's finish reasons: ours are the same words, and `cancelled` only happens once the client is gone. */
const finishReason = (r: string): string => (r === "length" ? "length" : "stop");

/**
 * Generate through the generation service (which stores the Generation, whose id the response's id carries) and
 * answer as one JSON object or as a stream of chunks. A client that disconnects cancels its generation.
 */
export async function complete(
  ctx: ServiceContext,
  log: Logger,
  res: Response,
  sampling: Sampling,
  prompt: Pick<GenerateInput, "prompt" | "messages">,
  shape: CompletionShape,
  names: ParamNames,
): Promise<void> {
  const generationId = randomUUID();
  const id = `${shape.idPrefix}${generationId}`;
  const created = Math.floor(Date.now() / 1000);
  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  const input: GenerateInput = { ...sampling.input, ...prompt, generationId };
  const usageOf = (g: { promptTokens: number; completionTokens: number }) => ({
    prompt_tokens: g.promptTokens,
    completion_tokens: g.completionTokens,
    total_tokens: g.promptTokens + g.completionTokens,
  });

  if (!sampling.stream) {
    const g = await generate(ctx, input, undefined, abort.signal).catch((err: unknown) => {
      if (abort.signal.aborted) return null; // the client is gone: nobody to answer
      throw toOpenAIError(err, log, names);
    });
    if (g) res.json({ id, object: shape.object, created, model: sampling.model, choices: [shape.choice(g.text, finishReason(g.finishReason))], usage: usageOf(g) });
    return;
  }

  const events = new EventStream(res);
  const usage = sampling.includeUsage ? { usage: null } : {};
  const chunk = (choice: object) => ({ id, object: shape.chunkObject, created, model: sampling.model, choices: [choice], ...usage });
  let first = true;
  const onText = (text: string) => {
    events.send(chunk(shape.delta(text, first)));
    first = false;
  };
  let g;
  try {
    g = await generate(ctx, input, onText, abort.signal);
  } catch (err) {
    if (abort.signal.aborted) return void res.end();
    const e = toOpenAIError(err, log, names);
    if (!events.open) throw e;
    // the stream has begun: the error is its last record, as OpenAI sends it
    events.send(errorBody(e));
    res.end();
    return;
  }
  if (first) onText(""); // nothing decoded (a stop sequence at once): the opening chunk still goes out
  events.send(chunk(shape.last(finishReason(g.finishReason))));
  if (sampling.includeUsage) events.send({ id, object: shape.chunkObject, created, model: sampling.model, choices: [], usage: usageOf(g) });
  events.done();
}
