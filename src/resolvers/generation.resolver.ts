import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root, Subscription } from "type-graphql";
import type { ChatMessage as ChatMessageData } from "../backends/types.js";
import { AsyncQueue } from "../services/async-queue.js";
import { listGenerations } from "../services/catalog.js";
import { generate, type GenerateInput as ServiceInput } from "../services/generations.js";
import { GenerateInput } from "../schema/inputs.js";
import { Adapter, Generation, GenerationChunk, ServedModel } from "../schema/types.js";
import type { ApiContext } from "./context.js";
import { toAdapter, toBaseModel, toGeneration, toMerged } from "./map.js";

@Resolver(() => Generation)
export class GenerationResolver {
  @Query(() => Generation, { description: "generate with a merged or base model (with adapterId: a base model plus an adapter, unmerged); the result is stored" })
  async generate(@Arg("input", () => GenerateInput) input: GenerateInput, @Ctx() { services }: ApiContext): Promise<Generation> {
    return toGeneration(await generate(services, serviceInput(input)));
  }

  @Query(() => [Generation], { description: "newest first" })
  async generations(
    @Arg("last", () => Int, { nullable: true, defaultValue: 20 }) last: number,
    @Ctx() { services }: ApiContext,
  ): Promise<Generation[]> {
    return (await listGenerations(services, last)).map(toGeneration);
  }

  @Subscription(() => GenerationChunk, {
    description: "text chunks as they are decoded, then a last chunk (done) with the stored Generation",
    subscribe: ({ args, context }) => streamGeneration(context as ApiContext, serviceInput(args.input as GenerateInput)),
  })
  generationStream(@Root() chunk: StreamItem, @Arg("input", () => GenerateInput) _input: GenerateInput): GenerationChunk {
    // a failure after the stream started arrives as an item, so it is reported as this event's error
    if ("error" in chunk) throw chunk.error;
    return chunk;
  }

  @FieldResolver(() => ServedModel, { nullable: true, description: "the merged or base model (null once deleted)" })
  async model(@Root() g: Generation, @Ctx() { loaders }: ApiContext): Promise<typeof ServedModel | null> {
    if (g.mergedModelId) {
      const m = await loaders.mergedModel.load(g.mergedModelId);
      return m ? toMerged(m) : null;
    }
    if (g.baseModelId) {
      const b = await loaders.model.load(g.baseModelId);
      return b ? toBaseModel(b) : null;
    }
    return null;
  }

  @FieldResolver(() => Adapter, { nullable: true, description: "the adapter served unmerged on the base model, if any (null once deleted)" })
  async adapter(@Root() g: Generation, @Ctx() { loaders }: ApiContext): Promise<Adapter | null> {
    if (!g.adapterId) return null;
    const a = await loaders.adapter.load(g.adapterId);
    return a ? toAdapter(a) : null;
  }
}

function serviceInput(input: GenerateInput): ServiceInput {
  const { messages, ...rest } = input;
  const clean = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== null && v !== undefined)) as unknown as ServiceInput;
  return messages ? { ...clean, messages: messages.map((m) => ({ role: m.role, content: m.content }) as ChatMessageData) } : clean;
}

/** Runs the generation as the subscription starts; closing the subscription cancels it. */
type StreamItem = GenerationChunk | { error: unknown };

function streamGeneration(ctx: ApiContext, input: ServiceInput): AsyncIterable<StreamItem> {
  const queue = new AsyncQueue<StreamItem>();
  const abort = new AbortController();
  generate(ctx.services, input, (text) => queue.push({ text, done: false, generation: null }), abort.signal).then(
    (g) => {
      queue.push({ text: "", done: true, generation: toGeneration(g) });
      queue.close();
    },
    (err) => {
      queue.push({ error: err });
      queue.close();
    },
  );
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => queue.next(),
      return: () => {
        abort.abort();
        return queue.return();
      },
    }),
  };
}
