import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { getMergedModel, listMergedModels } from "../services/catalog.js";
import { loadExisting } from "../services/loaders.js";
import { deleteMergedModel, mergeAdapter } from "../services/merges.js";
import { Precision } from "../schema/enums.js";
import { Adapter, BaseModel, MergedModel } from "../schema/types.js";
import type { ApiContext } from "./context.js";
import { toAdapter, toBaseModel, toMerged } from "./map.js";

@Resolver(() => MergedModel)
export class MergedModelResolver {
  @Query(() => [MergedModel])
  async mergedModels(@Ctx() { services }: ApiContext): Promise<MergedModel[]> {
    return (await listMergedModels(services)).map(toMerged);
  }

  @Query(() => MergedModel)
  async mergedModel(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<MergedModel> {
    return toMerged(await getMergedModel(services, id));
  }

  @Mutation(() => MergedModel, { description: "merge an adapter into its base model and export it to ONNX, as a job (status QUEUED -> READY)" })
  async mergeAdapter(
    @Arg("adapterId", () => ID) adapterId: string,
    @Arg("precision", () => Precision, { defaultValue: Precision.FP32 }) precision: Precision,
    @Ctx() { services }: ApiContext,
  ): Promise<MergedModel> {
    return toMerged(await mergeAdapter(services, adapterId, precision));
  }

  @Mutation(() => Boolean)
  deleteMergedModel(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<boolean> {
    return deleteMergedModel(services, id);
  }

  @FieldResolver(() => Adapter)
  async adapter(@Root() m: MergedModel, @Ctx() { loaders }: ApiContext): Promise<Adapter> {
    return toAdapter(await loadExisting(loaders.adapter, m.adapterId, "adapter"));
  }

  @FieldResolver(() => BaseModel)
  async baseModel(@Root() m: MergedModel, @Ctx() { loaders }: ApiContext): Promise<BaseModel> {
    return toBaseModel(await loadExisting(loaders.model, m.baseModelId, "base model"));
  }
}
