import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { getPull, listPulls, pullFromHub } from "../services/pulls.js";
import type { HubPullRecord } from "../services/records.js";
import { HubPull, HubRepoKind, PullStatus } from "../schema/hub.js";
import { BaseModel, Dataset } from "../schema/types.js";
import type { ApiContext } from "./context.js";
import { toBaseModel, toDataset } from "./map.js";

function toPull(p: HubPullRecord): HubPull {
  return Object.assign(new HubPull(), {
    ...p,
    kind: p.kind as HubRepoKind,
    status: p.status as PullStatus,
    bytesDone: Number(p.bytesDone),
    bytesTotal: p.bytesTotal === null ? null : Number(p.bytesTotal),
  });
}

const REVISION = { defaultValue: "main", description: "branch, tag or commit" };
const NAME = { nullable: true, description: "name to register it under (default: the repo's name)" };

@Resolver(() => HubPull)
export class HubResolver {
  @Query(() => [HubPull], { description: "Hub pulls, newest first" })
  async hubPulls(@Ctx() { services }: ApiContext): Promise<HubPull[]> {
    return (await listPulls(services)).map(toPull);
  }

  @Query(() => HubPull)
  async hubPull(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<HubPull> {
    return toPull(await getPull(services, id));
  }

  @Mutation(() => HubPull, { description: "download a model checkpoint (config, safetensors, tokenizer) from the Hub and register it, as a job" })
  async pullModel(
    @Arg("repo") repo: string,
    @Arg("revision", () => String, REVISION) revision: string,
    @Arg("name", () => String, NAME) name: string | null,
    @Ctx() { services }: ApiContext,
  ): Promise<HubPull> {
    return toPull(await pullFromHub(services, "MODEL", repo, revision, name));
  }

  @Mutation(() => HubPull, { description: "download a dataset's data files (Parquet, JSON Lines) from the Hub and register each split, as a job" })
  async pullDataset(
    @Arg("repo") repo: string,
    @Arg("revision", () => String, REVISION) revision: string,
    @Arg("name", () => String, NAME) name: string | null,
    @Ctx() { services }: ApiContext,
  ): Promise<HubPull> {
    return toPull(await pullFromHub(services, "DATASET", repo, revision, name));
  }

  @FieldResolver(() => BaseModel, { nullable: true, description: "the model it registered" })
  async model(@Root() p: HubPull, @Ctx() { loaders }: ApiContext): Promise<BaseModel | null> {
    const m = p.modelId === null ? null : await loaders.model.load(p.modelId);
    return m && toBaseModel(m);
  }

  @FieldResolver(() => [Dataset], { description: "the datasets it registered: the train split first, then the others" })
  async datasets(@Root() p: HubPull, @Ctx() { loaders }: ApiContext): Promise<Dataset[]> {
    const found = await loaders.dataset.loadMany(p.datasetIds);
    return found.flatMap((d) => (d && !(d instanceof Error) ? [toDataset(d)] : []));
  }
}
