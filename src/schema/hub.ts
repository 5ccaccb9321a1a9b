import { GraphQLDateTime } from "graphql-scalars";
import { Field, Float, ID, ObjectType, registerEnumType } from "type-graphql";

export enum HubRepoKind {
  MODEL = "MODEL",
  DATASET = "DATASET",
}

export enum PullStatus {
  QUEUED = "QUEUED",
  RUNNING = "RUNNING",
  SUCCEEDED = "SUCCEEDED",
  FAILED = "FAILED",
}

registerEnumType(HubRepoKind, { name: "HubRepoKind" });
registerEnumType(PullStatus, { name: "PullStatus" });

@ObjectType({ description: "A download from the Hugging Face Hub (HF_ENDPOINT), as a job: QUEUED -> RUNNING -> SUCCEEDED, then `model` or `datasets` are set" })
export class HubPull {
  @Field(() => ID) id!: string;
  @Field(() => HubRepoKind) kind!: HubRepoKind;
  @Field({ description: "the Hub repo id, e.g. microsoft/phi-2" }) repo!: string;
  @Field({ description: "the branch, tag or commit asked for" }) revision!: string;
  @Field(() => String, { nullable: true, description: "the commit the revision pointed at when the pull started" }) commit!: string | null;
  @Field({ description: "the name it is registered under (a dataset's other splits: name-<split>)" }) name!: string;
  @Field(() => PullStatus) status!: PullStatus;
  @Field({ description: "where the files land" }) path!: string;
  @Field(() => Float) bytesDone!: number;
  @Field(() => Float, { nullable: true }) bytesTotal!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => GraphQLDateTime) createdAt!: Date;
  @Field(() => GraphQLDateTime) updatedAt!: Date;
  modelId!: string | null;
  datasetIds!: string[];
}
