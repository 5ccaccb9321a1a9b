import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { deleteAdapter, importAdapter } from "../services/adapters.js";
import { listAdapters } from "../services/catalog.js";
import { loadExisting } from "../services/loaders.js";
import { Adapter, BaseModel, TrainingRun } from "../schema/types.js";
import type { ApiContext } from "./context.js";
import { toAdapter, toBaseModel, toRun } from "./map.js";

@Resolver(() => Adapter)
export class AdapterResolver {
  @Query(() => [Adapter])
  async adapters(@Ctx() { services }: ApiContext): Promise<Adapter[]> {
    return (await listAdapters(services)).map(toAdapter);
  }

  @Mutation(() => Adapter, { description: "register a PEFT LoRA adapter directory trained anywhere (checked against the base model)" })
  async importAdapter(
    @Arg("name") name: string,
    @Arg("path") path: string,
    @Arg("baseModelId", () => ID) baseModelId: string,
    @Ctx() { services }: ApiContext,
  ): Promise<Adapter> {
    return toAdapter(await importAdapter(services, name, path, baseModelId));
  }

  @Mutation(() => Boolean)
  deleteAdapter(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<boolean> {
    return deleteAdapter(services, id);
  }

  @FieldResolver(() => BaseModel)
  async baseModel(@Root() a: Adapter, @Ctx() { loaders }: ApiContext): Promise<BaseModel> {
    return toBaseModel(await loadExisting(loaders.model, a.baseModelId, "base model"));
  }

  @FieldResolver(() => TrainingRun, { nullable: true, description: "the run that trained it (null when imported)" })
  async run(@Root() a: Adapter, @Ctx() { loaders }: ApiContext): Promise<TrainingRun | null> {
    if (!a.runId) return null;
    const r = await loaders.run.load(a.runId);
    return r ? toRun(r) : null;
  }
}
