// The GraphQL documents the page sends, and the shapes it reads back (the public schema of src/schema/).
import { HYPERPARAMETERS } from "../../src/backends/training/spec.js";
import type { TrainingHyperparameters, TrainingMetric } from "../../src/backends/types.js";

export type RunStatus = "QUEUED" | "RUNNING" | "CANCELLING" | "SUCCEEDED" | "FAILED" | "CANCELLED" | "INTERRUPTED";
export type MergeStatus = "QUEUED" | "RUNNING" | "READY" | "FAILED";
export type Precision = "FP32" | "INT4";
export const ACTIVE: readonly RunStatus[] = ["QUEUED", "RUNNING", "CANCELLING"];

/** one logging window; `at`: when it ended (ISO) */
export type Metric = TrainingMetric & { at: string };
export interface Log {
  level: "INFO" | "WARN" | "ERROR";
  message: string;
  at: string;
}
export interface CheckpointRow {
  id: string;
  step: number;
  path: string;
  createdAt: string;
}
export interface Named {
  id: string;
  name: string;
}
export interface RunRow {
  id: string;
  name: string | null;
  status: RunStatus;
  baseModel: Named;
  dataset: Named;
  currentStep: number;
  maxSteps: number;
  latestLoss: number | null;
  createdAt: string;
}
/** one evaluation on the validation split; `at`: when it ended (ISO) */
export interface EvalMetric {
  step: number;
  /** null when not finite */
  evalLoss: number | null;
  perplexity: number | null;
  evalTokens: number;
  evalRuntime: number;
  evalSamplesPerSecond: number;
  epoch: number;
  at: string;
}
export interface Summary {
  trainRuntime: number;
  trainSamplesPerSecond: number;
  trainStepsPerSecond: number;
  trainLoss: number | null;
  epoch: number;
  skippedSteps: number;
}
export interface AdapterRow extends Named {
  path: string;
  sizeBytes: number;
}
export interface RunDetail extends RunRow {
  backend: string;
  engine: string | null;
  device: string | null;
  epoch: number;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  hyperparameters: TrainingHyperparameters;
  summary: Summary | null;
  metrics: Metric[];
  /** every evaluation, by step (none without a validation split) */
  evalMetrics: EvalMetric[];
  checkpoints: CheckpointRow[];
  logs: Log[];
  adapter: AdapterRow | null;
}
export interface MergedRow {
  id: string;
  precision: Precision;
  status: MergeStatus;
  path: string;
  sizeBytes: number | null;
  error: string | null;
  adapter: Named;
}
export interface ProgressEvent {
  kind: "STATE" | "STATUS" | "METRIC" | "EVAL" | "CHECKPOINT" | "LOG";
  status: RunStatus;
  currentStep: number;
  maxSteps: number;
  error: string | null;
  metric: Metric | null;
  metrics: Metric[] | null;
  eval: EvalMetric | null;
  /** STATE: the evaluations so far */
  evalMetrics: EvalMetric[] | null;
  logs: Log[] | null;
  checkpoint: CheckpointRow | null;
  log: Log | null;
}
export interface GenerationStats {
  id: string;
  text: string;
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
  timeToFirstTokenMs: number;
  tokensPerSecond: number;
  /** the adapter served unmerged on the base model (null: none, or deleted since) */
  adapter: Named | null;
}
export interface Chunk {
  text: string;
  done: boolean;
  generation: GenerationStats | null;
}

const METRIC = "step loss gradNorm learningRate epoch tokensPerSecond at";
const EVAL_METRIC = "step evalLoss perplexity evalTokens evalRuntime evalSamplesPerSecond epoch at";
// every field of the training spec (the run page shows them all)
const HYPERPARAMETER_FIELDS = HYPERPARAMETERS.map(([name]) => name).join(" ");
const RUN_ROW = "id name status baseModel { id name } dataset { id name } currentStep maxSteps latestLoss createdAt";
const MERGED = "id precision status path sizeBytes error adapter { id name }";

export const RUNS = `query Runs($first: Int, $after: String) {
  trainingRuns(first: $first, after: $after) { nodes { ${RUN_ROW} } pageInfo { endCursor hasNextPage } totalCount }
}`;
export interface RunsData {
  trainingRuns: { nodes: RunRow[]; pageInfo: { endCursor: string | null; hasNextPage: boolean }; totalCount: number };
}

export const RUN = `query Run($id: ID!) {
  trainingRun(id: $id) {
    ${RUN_ROW} backend engine device epoch error startedAt finishedAt
    hyperparameters { ${HYPERPARAMETER_FIELDS} }
    summary { trainRuntime trainSamplesPerSecond trainStepsPerSecond trainLoss epoch skippedSteps }
    metrics(last: 500) { ${METRIC} }
    evalMetrics { ${EVAL_METRIC} }
    checkpoints { id step path createdAt }
    logs(last: 100) { level message at }
    adapter { id name path sizeBytes }
  }
}`;
export interface RunData {
  trainingRun: RunDetail | null;
}

export const PROGRESS = `subscription Progress($runId: ID!) {
  trainingProgress(runId: $runId) {
    kind status currentStep maxSteps error
    metric { ${METRIC} } metrics { ${METRIC} } eval { ${EVAL_METRIC} } evalMetrics { ${EVAL_METRIC} }
    checkpoint { id step path createdAt } log { level message at } logs { level message at }
  }
}`;
export interface ProgressData {
  trainingProgress: ProgressEvent;
}

export const CANCEL = `mutation Cancel($id: ID!) { cancelTraining(id: $id) { id status } }`;
export const RESUME = `mutation Resume($id: ID!) { resumeTraining(id: $id) { id status } }`;

export const MERGED_MODELS = `query Merged { mergedModels { ${MERGED} } }`;
export interface MergedData {
  mergedModels: MergedRow[];
}
export const MERGE = `mutation Merge($adapterId: ID!, $precision: Precision!) {
  mergeAdapter(adapterId: $adapterId, precision: $precision) { ${MERGED} }
}`;
export interface MergeData {
  mergeAdapter: MergedRow;
}

export const FORM_CHOICES = `query Choices { models { id name parameterCount } datasets { id name conversationCount } }`;
export interface ChoicesData {
  models: (Named & { parameterCount: number })[];
  datasets: (Named & { conversationCount: number })[];
}

export const START = `mutation Start($input: StartTrainingInput!) { startTraining(input: $input) { id } }`;
export interface StartData {
  startTraining: { id: string };
}

export const SERVED_MODELS = `query Served { models { id name randomWeights } mergedModels { ${MERGED} baseModel { randomWeights } } }`;
export interface ServedData {
  models: (Named & { randomWeights: boolean })[];
  mergedModels: (MergedRow & { baseModel: { randomWeights: boolean } })[];
}

/** every adapter (the API has no per-model filter): the playground keeps those of the chosen base model */
export const ADAPTERS = `query Adapters { adapters { id name baseModel { id } run { name currentStep } } }`;
export interface AdapterChoice extends Named {
  baseModel: { id: string };
  /** the run that trained it; null when imported */
  run: { name: string | null; currentStep: number } | null;
}
export interface AdaptersData {
  adapters: AdapterChoice[];
}

export const GENERATE = `subscription Generate($input: GenerateInput!) {
  generationStream(input: $input) {
    text done
    generation { id text finishReason promptTokens completionTokens timeToFirstTokenMs tokensPerSecond adapter { id name } }
  }
}`;
export interface GenerateData {
  generationStream: Chunk;
}
