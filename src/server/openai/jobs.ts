import { DEFAULT_HYPERPARAMETERS, type TrainingHyperparameters } from "../../backends/types.js";
import { fineTunedName } from "../../services/fine-tuned.js";
import type { RunRecord } from "../../services/records.js";
import { badParam, type ParamNames } from "./errors.js";
import { fileId } from "./files.js";
import { optNumber, optObject, type Body } from "./params.js";
import { unixSeconds, withoutPrefix, withPrefix } from "./route.js";

// Fine-tuning jobs are training runs. OpenAI's three hyperparameters map onto the training spec (n_epochs → epochs,
// batch_size → batchSize, learning_rate_multiplier × the reference learning rate → learningRate); every other trainer
// option goes in the extension field `tunegraph: { hyperparameters: {...}, data: {...} }`, in the spec's own names.

const JOB_PREFIX = "ftjob-";
export const jobId = (runId: string): string => withPrefix(JOB_PREFIX, runId);
export const runIdOf = (id: string): string => withoutPrefix(JOB_PREFIX, id);

/**
 * OpenAI's statuses. INTERRUPTED (the worker stopped) is `failed` with error code `interrupted`: it can be resumed.
 * CANCELLING (a cancel asked of a running run) is still `running` until it stops: OpenAI has no status for it.
 */
const STATUS: Record<RunRecord["status"], string> = {
  QUEUED: "queued",
  RUNNING: "running",
  CANCELLING: "running",
  SUCCEEDED: "succeeded",
  FAILED: "failed",
  CANCELLED: "cancelled",
  INTERRUPTED: "failed",
};

/** `hyperparameters`: each of OpenAI's three is a number or "auto" (the trainer's default). */
export function readHyperparameters(body: Body): { hyperparameters: Record<string, unknown>; data: Record<string, unknown>; names: ParamNames } {
  const openai = optObject(body, "hyperparameters") ?? {};
  for (const key of Object.keys(openai)) {
    if (!["n_epochs", "batch_size", "learning_rate_multiplier"].includes(key)) {
      throw badParam(`hyperparameters.${key}`, `Unrecognized hyperparameter: ${key} (tunegraph's other trainer options go in tunegraph.hyperparameters)`, "unknown_parameter");
    }
  }
  const ext = optObject(body, "tunegraph") ?? {};
  for (const key of Object.keys(ext)) {
    if (key !== "hyperparameters" && key !== "data") throw badParam(`tunegraph.${key}`, `Unrecognized argument tunegraph.${key}: it takes hyperparameters and data`, "unknown_parameter");
  }
  const hp: Record<string, unknown> = { ...optObject(ext, "hyperparameters") };
  const names: ParamNames = { "hyperparameters.": "tunegraph.hyperparameters.", "data.": "tunegraph.data.", datasetId: "training_file", evalDatasetId: "validation_file", baseModelId: "model", initAdapterId: "model" };
  const take = (theirs: string, ours: keyof TrainingHyperparameters, value: number | undefined) => {
    if (value === undefined) return;
    if (hp[ours] !== undefined) throw badParam(`hyperparameters.${theirs}`, `hyperparameters.${theirs} and tunegraph.hyperparameters.${ours} set the same thing: give one`);
    hp[ours] = value;
    names[`hyperparameters.${ours}`] = `hyperparameters.${theirs}`;
  };
  const auto = (name: string, read: () => number | undefined) => (openai[name] === "auto" ? undefined : read());
  const epochs = auto("n_epochs", () => optNumber(openai, "n_epochs", 0, 1e6, { minExclusive: true, path: "hyperparameters.n_epochs" }));
  take("n_epochs", "epochs", epochs);
  // epochs decide the length only when maxSteps is 0
  if (epochs !== undefined) take("n_epochs", "maxSteps", 0);
  take("batch_size", "batchSize", auto("batch_size", () => optNumber(openai, "batch_size", 1, 4096, { int: true, path: "hyperparameters.batch_size" })));
  const multiplier = auto("learning_rate_multiplier", () => optNumber(openai, "learning_rate_multiplier", 0, 1e4, { minExclusive: true, path: "hyperparameters.learning_rate_multiplier" }));
  take("learning_rate_multiplier", "learningRate", multiplier === undefined ? undefined : multiplier * DEFAULT_HYPERPARAMETERS.learningRate);
  const seed = optNumber(body, "seed", 0, 2 ** 31 - 1, { int: true });
  if (seed !== undefined) {
    if (hp.seed !== undefined) throw badParam("seed", "seed and tunegraph.hyperparameters.seed set the same thing: give one");
    hp.seed = seed;
    names["hyperparameters.seed"] = "seed";
  }
  return { hyperparameters: hp, data: { ...optObject(ext, "data") }, names };
}

/** A run as OpenAI's fine_tuning.job; `baseModelName` names its model and fine-tuned model. */
export function jobObject(run: RunRecord, baseModelName: string, now = Date.now()): object {
  const hp = run.hyperparameters as TrainingHyperparameters;
  const error =
    run.status === "FAILED" ? { code: "training_failed", message: run.error ?? "the run failed", param: null }
    : run.status === "INTERRUPTED" ? { code: "interrupted", message: `${run.error ?? "interrupted"}: POST /v1/fine_tuning/jobs/${jobId(run.id)}/resume continues from its last checkpoint`, param: null }
    : null;
  return {
    id: jobId(run.id),
    object: "fine_tuning.job",
    created_at: unixSeconds(run.createdAt),
    error,
    fine_tuned_model: run.status === "SUCCEEDED" ? fineTunedName(baseModelName, run) : null,
    finished_at: run.finishedAt ? unixSeconds(run.finishedAt) : null,
    hyperparameters: openaiHyperparameters(hp),
    model: baseModelName,
    organization_id: "tunegraph",
    result_files: [],
    seed: hp.seed,
    status: STATUS[run.status],
    trained_tokens: null,
    training_file: fileId(run.datasetId),
    validation_file: run.validationDatasetId ? fileId(run.validationDatasetId) : null,
    estimated_finish: estimatedFinish(run, now),
    integrations: null,
    metadata: null,
    method: { type: "supervised", supervised: { hyperparameters: openaiHyperparameters(hp) } },
    tunegraph: { run_id: run.id, current_step: run.currentStep, max_steps: run.maxSteps, hyperparameters: hp, suffix: run.suffix },
  };
}

/** n_epochs is "auto" when the run is bounded by maxSteps instead. */
function openaiHyperparameters(hp: TrainingHyperparameters): object {
  return {
    n_epochs: hp.maxSteps === 0 ? hp.epochs : "auto",
    batch_size: hp.batchSize,
    learning_rate_multiplier: hp.learningRate / DEFAULT_HYPERPARAMETERS.learningRate,
  };
}

/** From the pace so far: started + elapsed × maxSteps / currentStep. */
function estimatedFinish(run: RunRecord, now: number): number | null {
  if (run.status !== "RUNNING" || !run.startedAt || run.currentStep === 0) return null;
  const elapsed = now - run.startedAt.getTime();
  return Math.floor((run.startedAt.getTime() + (elapsed * run.maxSteps) / run.currentStep) / 1000);
}
