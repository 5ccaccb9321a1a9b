import { fineTunedName, getFineTuned, isFineTunedName } from "../../services/fine-tuned.js";
import { getModel, findModel } from "../../services/models.js";
import { checkpointsOfRuns, cursorAfterRun, evalsOfRuns, listRuns, logsOfRuns, metricsOfRuns } from "../../services/run-queries.js";
import type { RunRecord } from "../../services/records.js";
import { PAGE_LIMITS } from "../../services/paging.js";
import { cancelTraining, getRun, resumeTraining, startTraining } from "../../services/training.js";
import { badParam, OpenAIError, toOpenAIError } from "./errors.js";
import { datasetIdOf } from "./files.js";
import { jobEvents } from "./job-events.js";
import { jobId, jobObject, readHyperparameters, runIdOf } from "./jobs.js";
import { optString, queryInt, queryString, readBody, reqString } from "./params.js";
import { unixSeconds, type Route, type RouteDeps } from "./route.js";

const KNOWN = ["model", "training_file", "validation_file", "suffix", "seed", "hyperparameters", "tunegraph", "metadata", "integrations"];

async function job(services: RouteDeps["services"], run: RunRecord): Promise<object> {
  return jobObject(run, (await getModel(services, run.baseModelId)).name);
}

/** POST /v1/fine_tuning/jobs: a training run on a base model, or continuing a fine-tuned one (its adapter). */
export const create: Route = async ({ services, log }, req, res) => {
  const body = readBody(req.body, KNOWN);
  const model = reqString(body, "model");
  const trainingFile = reqString(body, "training_file");
  const validationFile = optString(body, "validation_file");
  const suffix = optString(body, "suffix");
  for (const name of ["metadata", "integrations"]) {
    if (body[name] !== undefined && body[name] !== null) throw badParam(name, `${name} is not supported`);
  }
  const { hyperparameters, data, names } = readHyperparameters(body);
  const [baseModelId, initAdapterId] = await startingPoint(services, model);
  const run = await startTraining(services, {
    baseModelId,
    initAdapterId,
    datasetId: datasetIdOf(trainingFile),
    evalDatasetId: validationFile === undefined ? null : datasetIdOf(validationFile),
    suffix: suffix ?? null,
    hyperparameters,
    data,
  }).catch((err: unknown) => {
    throw toOpenAIError(err, log, names);
  });
  res.json(await job(services, run));
};

/** A base model (by name or id), or a fine-tuned model: its base, and its adapter to start from. */
async function startingPoint(services: RouteDeps["services"], model: string): Promise<[string, string | null]> {
  if (isFineTunedName(model)) {
    const tuned = await getFineTuned(services, model);
    const base = await findModel(services, tuned.baseModelName);
    return [base!.id, tuned.adapterId];
  }
  const base = await findModel(services, model);
  if (!base) throw new OpenAIError(404, `model: no base model ${model} (GET /v1/models lists them)`, "model", "model_not_found");
  return [base.id, null];
}

/** GET /v1/fine_tuning/jobs (`after`: a job id, `limit`) */
export const list: Route = async ({ services }, req, res) => {
  const limit = queryInt(req.query, "limit", 20, 1, PAGE_LIMITS.runs);
  const after = queryString(req.query, "after");
  const cursor = after === undefined ? null : await cursorAfterRun(services, runIdOf(after), "after");
  const page = await listRuns(services, null, limit, cursor);
  res.json({ object: "list", data: await Promise.all(page.runs.map((r) => job(services, r))), has_more: page.hasNextPage });
};

export const retrieve: Route = async ({ services }, req, res) => {
  res.json(await job(services, await getRun(services, runIdOf(String(req.params.job_id)))));
};

export const cancel: Route = async ({ services }, req, res) => {
  res.json(await job(services, await cancelTraining(services, runIdOf(String(req.params.job_id)))));
};

/** POST /v1/fine_tuning/jobs/{id}/resume: an interrupted, cancelled or failed job continues from its last checkpoint. */
export const resume: Route = async ({ services }, req, res) => {
  res.json(await job(services, await resumeTraining(services, runIdOf(String(req.params.job_id)))));
};

/** GET /v1/fine_tuning/jobs/{id}/events (`after`: an event id, `limit`), newest first. */
export const events: Route = async ({ services }, req, res) => {
  const run = await getRun(services, runIdOf(String(req.params.job_id)));
  const limit = queryInt(req.query, "limit", 20, 1, PAGE_LIMITS.logs);
  const after = queryString(req.query, "after");
  const ids = [run.id];
  const [metrics, evals, logs, checkpoints, base] = await Promise.all([
    metricsOfRuns(services, ids, { sinceStep: null, last: null }),
    evalsOfRuns(services, ids),
    logsOfRuns(services, ids, PAGE_LIMITS.logs),
    checkpointsOfRuns(services, ids),
    getModel(services, run.baseModelId),
  ]);
  const all = jobEvents({
    run,
    fineTunedModel: run.status === "SUCCEEDED" ? fineTunedName(base.name, run) : null,
    metrics: metrics.get(run.id)!,
    evals: evals.get(run.id)!,
    logs: logs.get(run.id)!,
    checkpoints: checkpoints.get(run.id)!,
  });
  const start = after === undefined ? 0 : all.findIndex((e) => e.id === after) + 1;
  if (after !== undefined && start === 0) throw badParam("after", `after: no event ${after} in job ${jobId(run.id)}`);
  res.json({ object: "list", data: all.slice(start, start + limit), has_more: start + limit < all.length });
};

/** GET /v1/fine_tuning/jobs/{id}/checkpoints (`after`: a checkpoint id, `limit`), newest first. */
export const checkpoints: Route = async ({ services }, req, res) => {
  const run = await getRun(services, runIdOf(String(req.params.job_id)));
  const limit = queryInt(req.query, "limit", 10, 1, PAGE_LIMITS.logs);
  const after = queryString(req.query, "after");
  const [saved, metrics, evals, base] = await Promise.all([
    checkpointsOfRuns(services, [run.id]),
    metricsOfRuns(services, [run.id], { sinceStep: null, last: null }),
    evalsOfRuns(services, [run.id]),
    getModel(services, run.baseModelId),
  ]);
  const loss = new Map(metrics.get(run.id)!.map((m) => [m.step, m.loss]));
  const validLoss = new Map(evals.get(run.id)!.map((e) => [e.step, e.evalLoss]));
  const model = fineTunedName(base.name, run);
  const all = saved.get(run.id)!.reverse().map((c) => ({
    object: "fine_tuning.job.checkpoint",
    id: `ftckpt-${c.id}`,
    created_at: unixSeconds(c.createdAt),
    // named as OpenAI names them; tunegraph serves only the job's final model so far
    fine_tuned_model_checkpoint: `${model}:ckpt-step-${c.step}`,
    fine_tuning_job_id: jobId(run.id),
    metrics: {
      step: c.step,
      ...(loss.has(c.step) ? { train_loss: loss.get(c.step) } : {}),
      ...(validLoss.has(c.step) ? { valid_loss: validLoss.get(c.step), full_valid_loss: validLoss.get(c.step) } : {}),
    },
    step_number: c.step,
  }));
  const start = after === undefined ? 0 : all.findIndex((c) => c.id === after) + 1;
  if (after !== undefined && start === 0) throw badParam("after", `after: no checkpoint ${after} in job ${jobId(run.id)}`);
  const page = all.slice(start, start + limit);
  res.json({ object: "list", data: page, has_more: start + limit < all.length, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null });
};
