import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { listDatasets } from "../services/catalog.js";
import { deleteDataset, registerDataset } from "../services/datasets.js";
import { Dataset } from "../schema/types.js";
import type { ApiContext } from "./context.js";
import { toDataset } from "./map.js";

@Resolver(() => Dataset)
export class DatasetResolver {
  @Query(() => [Dataset])
  async datasets(@Ctx() { services }: ApiContext): Promise<Dataset[]> {
    return (await listDatasets(services)).map(toDataset);
  }

  @Mutation(() => Dataset, { description: "register a conversation file (inside the server's roots); its format is detected" })
  async registerDataset(@Arg("name") name: string, @Arg("path") path: string, @Ctx() { services }: ApiContext): Promise<Dataset> {
    return toDataset(await registerDataset(services, name, path));
  }

  @Mutation(() => Boolean)
  deleteDataset(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<boolean> {
    return deleteDataset(services, id);
  }
}
