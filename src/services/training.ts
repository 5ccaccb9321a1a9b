import { randomUUID } from "node:crypto";
import path from "node:path";
import { trainingSteps } from "../backends/training/steps.js";
import { validateHyperparameters } from "../backends/training/validate.js";
import { validateDataOptions } from "../data/options.js";
import type { PhiConfig } from "../model/config.js";
import { fieldError, UserError } from "../model/errors.js";
import type { RunStatus, TrainingRun } from "../generated/prisma/client.js";
import type { ServiceContext } from "./context.js";
import { LimitError } from "./errors.js";
import { checkSuffix, fineTunedName } from "./fine-tuned.js";
import { publishStatus } from "./run-status.js";

/** The longest run name (a display name: W&B-style, not unique). */
export const MAX_RUN_NAME = 200;

export interface StartTrainingInput {
  /** shown in lists and the dashboard; not unique (runs are told apart by id) */
  name?: string | null;
  baseModelId: string;
  datasetId: string;
  initAdapterId?: string | null;
  /** validated here: unknown or bad fields are a UserError naming the field */
  hyperparameters?: Record<string, unknown>;
  data?: Record<string, unknown>;
  /** held-out conversations the trainer evaluates on (OpenAI's validation_file; the run's validationDatasetId) */
  evalDatasetId?: string | null;
  /** the fine-tuned model is named ft:<base model name>:<suffix> (else :<run id>) */
  suffix?: string | null;
}

/** Validate, record a QUEUED run and enqueue it; a worker (any process) picks it up. */
export async function startTraining(ctx: ServiceContext, input: StartTrainingInput): Promise<TrainingRun> {
  const { prisma, config } = ctx;
  const model = await prisma.baseModel.findUnique({ where: { id: input.baseModelId } });
  if (!model) throw fieldError("baseModelId", `: no model ${input.baseModelId}`, "NOT_FOUND");
  const dataset = await prisma.dataset.findUnique({ where: { id: input.datasetId } });
  if (!dataset) throw fieldError("datasetId", `: no dataset ${input.datasetId}`, "NOT_FOUND");
  if (input.evalDatasetId && !(await prisma.dataset.findUnique({ where: { id: input.evalDatasetId } }))) {
    throw fieldError("evalDatasetId", `: no dataset ${input.evalDatasetId}`, "NOT_FOUND");
  }
  if (input.suffix) await checkSuffixFree(ctx, model.id, model.name, input.suffix);
  if (input.initAdapterId) {
    const adapter = await prisma.adapter.findUnique({ where: { id: input.initAdapterId } });
    if (!adapter) throw fieldError("initAdapterId", `: no adapter ${input.initAdapterId}`, "NOT_FOUND");
    if (adapter.baseModelId !== model.id) throw fieldError("initAdapterId", `: adapter ${adapter.name} belongs to another base model`);
  }
  const name = input.name?.trim() || null;
  if (name !== null && name.length > MAX_RUN_NAME) throw fieldError("name", ` is ${name.length} characters long; at most ${MAX_RUN_NAME}`);
  const hp = validateHyperparameters(stripNulls(input.hyperparameters ?? {}), model.config as unknown as PhiConfig);
  const data = validateDataOptions(stripNulls(input.data ?? {}));
  if (input.evalDatasetId && hp.evalSplit > 0) {
    throw fieldError("evalDatasetId", "cannot be used with hyperparameters.evalSplit: evaluate on the eval dataset or on a held-out share of the training data");
  }
  const maxSteps = trainingSteps(hp, dataset.conversationCount); // the worker recounts from the prepared sequences
  const active = await prisma.trainingRun.count({ where: { status: { in: ["QUEUED", "RUNNING"] } } });
  if (active >= config.limits.maxActiveRuns) {
    throw new LimitError(`${active} training runs are queued or running; the limit is ${config.limits.maxActiveRuns}`);
  }
  const id = randomUUID();
  const run = await prisma.trainingRun.create({
    data: {
      id,
      name,
      baseModelId: model.id,
      datasetId: dataset.id,
      initAdapterId: input.initAdapterId ?? null,
      validationDatasetId: input.evalDatasetId ?? null,
      suffix: input.suffix ?? null,
      hyperparameters: hp as object,
      dataOptions: data as object,
      maxSteps,
      outDir: path.join(config.dataDir, "runs", id),
    },
  });
  await ctx.queue.sendTraining({ runId: id, resume: false });
  await publishStatus(ctx, run);
  return run;
}

/** A suffix names one model of a base model: taken by a run that is queued, running or succeeded (or may resume). */
async function checkSuffixFree(ctx: ServiceContext, baseModelId: string, baseModelName: string, suffix: string): Promise<void> {
  checkSuffix(suffix);
  const holder = await ctx.prisma.trainingRun.findFirst({ where: { baseModelId, suffix, status: { notIn: ["FAILED", "CANCELLED"] } } });
  if (holder) {
    throw new UserError(`suffix: ${fineTunedName(baseModelName, holder)} is already the name of training run ${holder.id} (${holder.status})`, { code: "CONFLICT", field: "suffix" });
  }
}

function stripNulls(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

export async function getRun(ctx: ServiceContext, id: string): Promise<TrainingRun> {
  const run = await ctx.prisma.trainingRun.findUnique({ where: { id } });
  if (!run) throw new UserError(`no training run ${id}`, "NOT_FOUND");
  return run;
}

/** A QUEUED run is cancelled at once; a RUNNING one is asked to stop (its worker saves and marks it CANCELLED). */
export async function cancelTraining(ctx: ServiceContext, id: string): Promise<TrainingRun> {
  const run = await getRun(ctx, id);
  if (run.status === "QUEUED") {
    const { count } = await ctx.prisma.trainingRun.updateMany({
      where: { id, status: "QUEUED" },
      data: { status: "CANCELLED", finishedAt: new Date() },
    });
    if (count === 1) {
      const cancelled = await getRun(ctx, id);
      await publishStatus(ctx, cancelled);
      return cancelled;
    }
    return cancelTraining(ctx, id); // a worker took it meanwhile
  }
  if (run.status !== "RUNNING") throw new UserError(`training run ${id} is ${run.status}: only QUEUED or RUNNING runs can be cancelled`, "CONFLICT");
  const updated = await ctx.prisma.trainingRun.update({ where: { id }, data: { cancelRequested: true } });
  await ctx.hub.publish({ type: "cancel", runId: id });
  await publishStatus(ctx, updated); // CANCELLING: the worker stops after its current step
  return updated;
}

const RESUMABLE: RunStatus[] = ["INTERRUPTED", "CANCELLED", "FAILED"];

/** Queue an ended run again; the worker continues from its last checkpoint (or from the start if it has none). */
export async function resumeTraining(ctx: ServiceContext, id: string): Promise<TrainingRun> {
  const run = await getRun(ctx, id);
  if (!RESUMABLE.includes(run.status)) {
    throw new UserError(`training run ${id} is ${run.status}: only ${RESUMABLE.join(", ")} runs can be resumed`, "CONFLICT");
  }
  const active = await ctx.prisma.trainingRun.count({ where: { status: { in: ["QUEUED", "RUNNING"] } } });
  if (active >= ctx.config.limits.maxActiveRuns) {
    throw new LimitError(`${active} training runs are queued or running; the limit is ${ctx.config.limits.maxActiveRuns}`);
  }
  const { count } = await ctx.prisma.trainingRun.updateMany({
    where: { id, status: run.status },
    data: { status: "QUEUED", cancelRequested: false, error: null, finishedAt: null, workerId: null },
  });
  if (count === 0) throw new UserError(`training run ${id} changed state meanwhile; try again`, "CONFLICT");
  await ctx.queue.sendTraining({ runId: id, resume: true });
  const queued = await getRun(ctx, id);
  await publishStatus(ctx, queued);
  return queued;
}

export async function deleteTrainingRun(ctx: ServiceContext, id: string): Promise<boolean> {
  const run = await getRun(ctx, id);
  if (run.status === "QUEUED" || run.status === "RUNNING") {
    throw new UserError(`training run ${id} is ${run.status}: cancel it first`, "CONFLICT");
  }
  await ctx.prisma.trainingRun.delete({ where: { id } });
  return true;
}
