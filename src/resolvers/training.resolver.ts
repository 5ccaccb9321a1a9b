import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { isUserError, UserError } from "../model/errors.js";
import { cancelTraining, deleteTrainingRun, getRun, resumeTraining, startTraining } from "../services/training.js";
import { StartTrainingInput, TrainingRunFilter } from "../schema/inputs.js";
import { Adapter, BaseModel, Checkpoint, Dataset, TrainingLog, TrainingMetric, TrainingRun, TrainingRunConnection } from "../schema/types.js";
import type { ApiContext } from "./context.js";
import { toAdapter, toBaseModel, toCheckpoint, toDataset, toLog, toMetric, toRun } from "./map.js";

const MAX_PAGE = 100;

@Resolver(() => TrainingRun)
export class TrainingResolver {
  @Query(() => TrainingRunConnection, { description: "newest first; pass pageInfo.endCursor as `after` for the next page" })
  async trainingRuns(
    @Arg("filter", () => TrainingRunFilter, { nullable: true }) filter: TrainingRunFilter | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() { services }: ApiContext,
  ): Promise<TrainingRunConnection> {
    if (first < 1 || first > MAX_PAGE) throw new UserError(`first must be between 1 and ${MAX_PAGE}, got ${first}`);
    const where = {
      ...(filter?.status?.length ? { status: { in: filter.status } } : {}),
      ...(filter?.baseModelId ? { baseModelId: filter.baseModelId } : {}),
    };
    const cursor = after ? decodeCursor(after) : null;
    const rows = await services.prisma.trainingRun.findMany({
      where,
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: first + 1,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    const nodes = rows.slice(0, first).map(toRun);
    return {
      nodes,
      totalCount: await services.prisma.trainingRun.count({ where }),
      pageInfo: { hasNextPage: rows.length > first, endCursor: nodes.length > 0 ? encodeCursor(nodes.at(-1)!.id) : null },
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
        baseModelId: input.baseModelId,
        datasetId: input.datasetId,
        initAdapterId: input.initAdapterId,
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
  async baseModel(@Root() run: TrainingRun, @Ctx() { services }: ApiContext): Promise<BaseModel> {
    return toBaseModel(await services.prisma.baseModel.findUniqueOrThrow({ where: { id: run.baseModelId } }));
  }

  @FieldResolver(() => Dataset)
  async dataset(@Root() run: TrainingRun, @Ctx() { services }: ApiContext): Promise<Dataset> {
    return toDataset(await services.prisma.dataset.findUniqueOrThrow({ where: { id: run.datasetId } }));
  }

  @FieldResolver(() => [TrainingMetric], { description: "in step order; `last` keeps the latest ones" })
  async metrics(
    @Root() run: TrainingRun,
    @Arg("sinceStep", () => Int, { nullable: true }) sinceStep: number | null,
    @Arg("last", () => Int, { nullable: true }) last: number | null,
    @Ctx() { services }: ApiContext,
  ): Promise<TrainingMetric[]> {
    const rows = await services.prisma.trainingMetric.findMany({
      where: { runId: run.id, ...(sinceStep !== null ? { step: { gt: sinceStep } } : {}) },
      orderBy: { step: last !== null ? "desc" : "asc" },
      ...(last !== null ? { take: last } : {}),
    });
    return (last !== null ? rows.reverse() : rows).map(toMetric);
  }

  @FieldResolver(() => [TrainingLog])
  async logs(
    @Root() run: TrainingRun,
    @Arg("last", () => Int, { nullable: true, defaultValue: 100 }) last: number,
    @Ctx() { services }: ApiContext,
  ): Promise<TrainingLog[]> {
    const rows = await services.prisma.trainingLog.findMany({ where: { runId: run.id }, orderBy: { id: "desc" }, take: last });
    return rows.reverse().map(toLog);
  }

  @FieldResolver(() => [Checkpoint])
  async checkpoints(@Root() run: TrainingRun, @Ctx() { services }: ApiContext): Promise<Checkpoint[]> {
    return (await services.prisma.checkpoint.findMany({ where: { runId: run.id }, orderBy: { step: "asc" } })).map(toCheckpoint);
  }

  @FieldResolver(() => Adapter, { nullable: true, description: "the trained adapter, once SUCCEEDED" })
  async adapter(@Root() run: TrainingRun, @Ctx() { services }: ApiContext): Promise<Adapter | null> {
    const a = await services.prisma.adapter.findUnique({ where: { runId: run.id } });
    return a ? toAdapter(a) : null;
  }

  @FieldResolver(() => Adapter, { nullable: true, description: "the adapter this run started from" })
  async initAdapter(@Root() run: TrainingRun, @Ctx() { services }: ApiContext): Promise<Adapter | null> {
    if (!run.initAdapterId) return null;
    const a = await services.prisma.adapter.findUnique({ where: { id: run.initAdapterId } });
    return a ? toAdapter(a) : null;
  }
}

function encodeCursor(id: string): string {
  return Buffer.from(`run:${id}`).toString("base64url");
}

function decodeCursor(cursor: string): string {
  const s = Buffer.from(cursor, "base64url").toString();
  if (!s.startsWith("run:")) throw new UserError(`after: not a cursor from pageInfo.endCursor: ${JSON.stringify(cursor)}`);
  return s.slice(4);
}
