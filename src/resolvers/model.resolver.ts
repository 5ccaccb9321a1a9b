import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { listModels } from "../services/catalog.js";
import { deleteModel, getModel, initModel, registerModel } from "../services/models.js";
import { BaseModel } from "../schema/types.js";
import type { ApiContext } from "./context.js";
import { toBaseModel } from "./map.js";

@Resolver(() => BaseModel)
export class ModelResolver {
  @Query(() => [BaseModel], { description: "registered base models, newest first" })
  async models(@Ctx() { services }: ApiContext): Promise<BaseModel[]> {
    return (await listModels(services)).map(toBaseModel);
  }

  @Query(() => BaseModel)
  async model(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<BaseModel> {
    return toBaseModel(await getModel(services, id));
  }

  @Mutation(() => BaseModel, { description: "register an HF Phi checkpoint directory (inside the server's roots)" })
  async registerModel(@Arg("name") name: string, @Arg("path") path: string, @Ctx() { services }: ApiContext): Promise<BaseModel> {
    return toBaseModel(await registerModel(services, name, path));
  }

  @Mutation(() => BaseModel, { description: "create a random-weight model of a preset (tiny, phi-1, phi-1_5, phi-2): for demos and tests" })
  async initModel(
    @Arg("preset") preset: string,
    @Arg("name") name: string,
    @Arg("overrides", () => GraphQLJSONObject, { nullable: true, description: "config.json fields to change" }) overrides: Record<string, unknown> | null,
    @Arg("seed", () => Int, { nullable: true }) seed: number | null,
    @Ctx() { services }: ApiContext,
  ): Promise<BaseModel> {
    return toBaseModel(await initModel(services, preset, name, overrides ?? {}, seed ?? 0));
  }

  @Mutation(() => Boolean, { description: "forget a model (its files stay)" })
  deleteModel(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<boolean> {
    return deleteModel(services, id);
  }
}
