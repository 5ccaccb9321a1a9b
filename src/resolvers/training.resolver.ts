import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { isUserError, UserError } from "../model/errors.js";
import { fineTunedName } from "../services/fine-tuned.js";
import { loadExisting } from "../services/loaders.js";
import { listRuns } from "../services/run-queries.js";
import { cancelTraining, deleteTrainingRun, getRun, resumeTraining, startTraining } from "../services/training.js";
import { StartTrainingInput, TrainingRunFilter } from "../schema/inputs.js";
import { Adapter, BaseModel, Checkpoint, Dataset, EvalMetric, TrainingLog, TrainingMetric, TrainingRun, TrainingRunConnection } from "../schema/types.js";
import type { ApiContext } from "./context.js";
import { toAdapter, toBaseModel, toCheckpoint, toDataset, toEval, toLog, toMetric, toRun } from "./map.js";

@Resolver(() => TrainingRun)
export class TrainingResolver {
  @Query(() => TrainingRunConnection, { description: "newest first; pass pageInfo.endCursor as `after` for the next page" })
  async trainingRuns(
    @Arg("filter", () => TrainingRunFilter, { nullable: true }) filter: TrainingRunFilter | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() { services }: ApiContext,
  ): Promise<TrainingRunConnection> {
    const page = await listRuns(services, filter ?? null, first, after ?? null);
    return {
      nodes: page.runs.map(toRun),
      totalCount: page.totalCount,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
    };
  }

  @Query(() => TrainingRun)
  async trainingRun(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<TrainingRun> {
    return toRun(await getRun(services, id));
  }

  @Mutation(() => TrainingRun, { description: "queue a QLoRA training run; unset hyperparameters take the reference job's values" })
  async startTraining(@Arg("input", () => StartTrainingInput) input: StartTrainingInput, @Ctx() { services }: ApiContext): Promise<TrainingRun> {
    return toRun(
      await startTraining(services, {
        name: input.name,
        baseModelId: input.baseModelId,
        datasetId: input.datasetId,
        initAdapterId: input.initAdapterId,
        evalDatasetId: input.evalDatasetId,
        hyperparameters: { ...input.hyperparameters },
        data: { ...input.data },
      }).catch((e: unknown) => {
        throw isUserError(e) ? e.under("input") : e; // its field as the GraphQL input path: input.hyperparameters.r
      }),
    );
  }

  @Mutation(() => TrainingRun, { description: "cancel a queued run at once, or ask a running one to stop" })
  async cancelTraining(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<TrainingRun> {
    return toRun(await cancelTraining(services, id));
  }

  @Mutation(() => TrainingRun, { description: "queue an INTERRUPTED, CANCELLED or FAILED run again, from its last checkpoint" })
  async resumeTraining(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<TrainingRun> {
    return toRun(await resumeTraining(services, id));
  }

  @Mutation(() => Boolean)
  deleteTrainingRun(@Arg("id", () => ID) id: string, @Ctx() { services }: ApiContext): Promise<boolean> {
    return deleteTrainingRun(services, id);
  }

  @FieldResolver(() => BaseModel)
  async baseModel(@Root() run: TrainingRun, @Ctx() { loaders }: ApiContext): Promise<BaseModel> {
    return toBaseModel(await loadExisting(loaders.model, run.baseModelId, "base model"));
  }

  @FieldResolver(() => Dataset)
  async dataset(@Root() run: TrainingRun, @Ctx() { loaders }: ApiContext): Promise<Dataset> {
    return toDataset(await loadExisting(loaders.dataset, run.datasetId, "dataset"));
  }

  @FieldResolver(() => Dataset, { nullable: true, description: "held-out conversations the trainer evaluates on (evalDatasetId; /v1's validation_file)" })
  async evalDataset(@Root() run: TrainingRun, @Ctx() { loaders }: ApiContext): Promise<Dataset | null> {
    return run.validationDatasetId ? toDataset(await loadExisting(loaders.dataset, run.validationDatasetId, "dataset")) : null;
  }

  @FieldResolver(() => String, { nullable: true, description: "the model /v1 serves once SUCCEEDED: ft:<base model name>:<suffix or run id>" })
  async fineTunedModel(@Root() run: TrainingRun, @Ctx() { loaders }: ApiContext): Promise<string | null> {
    if (run.status !== "SUCCEEDED") return null;
    return fineTunedName((await loadExisting(loaders.model, run.baseModelId, "base model")).name, run);
  }

  @FieldResolver(() => [TrainingMetric], { description: "in step order; `last` keeps the latest ones" })
  async metrics(
    @Root() run: TrainingRun,
    @Arg("sinceStep", () => Int, { nullable: true }) sinceStep: number | null,
    @Arg("last", () => Int, { nullable: true }) last: number | null,
    @Ctx() { loaders }: ApiContext,
  ): Promise<TrainingMetric[]> {
    // an argument left out arrives as undefined
    return (await loaders.metrics.load({ runId: run.id, sinceStep: sinceStep ?? null, last: last ?? null })).map(toMetric);
  }

  @FieldResolver(() => [TrainingLog])
  async logs(
    @Root() run: TrainingRun,
    @Arg("last", () => Int, { nullable: true, defaultValue: 100 }) last: number,
    @Ctx() { loaders }: ApiContext,
  ): Promise<TrainingLog[]> {
    return (await loaders.logs.load({ runId: run.id, last })).map(toLog);
  }

  @FieldResolver(() => [EvalMetric], { description: "every evaluation on the run's eval set, by step" })
  async evalMetrics(@Root() run: TrainingRun, @Ctx() { loaders }: ApiContext): Promise<EvalMetric[]> {
    return (await loaders.evalMetrics.load(run.id)).map(toEval);
  }

  @FieldResolver(() => [Checkpoint])
  async checkpoints(@Root() run: TrainingRun, @Ctx() { loaders }: ApiContext): Promise<Checkpoint[]> {
    return (await loaders.checkpoints.load(run.id)).map(toCheckpoint);
  }

  @FieldResolver(() => Adapter, { nullable: true, description: "the trained adapter, once SUCCEEDED" })
  async adapter(@Root() run: TrainingRun, @Ctx() { loaders }: ApiContext): Promise<Adapter | null> {
    const a = await loaders.adapterOfRun.load(run.id);
    return a ? toAdapter(a) : null;
  }

  @FieldResolver(() => Adapter, { nullable: true, description: "the adapter this run started from" })
  async initAdapter(@Root() run: TrainingRun, @Ctx() { loaders }: ApiContext): Promise<Adapter | null> {
    if (!run.initAdapterId) return null;
    const a = await loaders.adapter.load(run.initAdapterId);
    return a ? toAdapter(a) : null;
  }
}
