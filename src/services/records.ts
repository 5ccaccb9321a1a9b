import type { RunStatusName } from "./events.js";

// What the services hand the API layer: stored objects as plain interfaces, so that resolvers and their mapping
// never depend on the database client's generated types. JSON columns are `unknown`: their shape is their writer's.

export interface BaseModelRecord {
  id: string;
  name: string;
  path: string;
  architecture: string;
  parameterCount: bigint;
  config: unknown;
  /** written by initModel with random weights (the demo): its generations are noise */
  randomWeights: boolean;
  createdAt: Date;
}

export interface DatasetRecord {
  id: string;
  name: string;
  path: string;
  format: string;
  conversationCount: number;
  skipped: unknown;
  filename: string | null;
  bytes: bigint | null;
  createdAt: Date;
}

export interface RunRecord {
  id: string;
  name: string | null;
  status: RunStatusName;
  /** a cancel was asked for; the run shows as CANCELLING while it is still RUNNING */
  cancelRequested: boolean;
  baseModelId: string;
  datasetId: string;
  initAdapterId: string | null;
  validationDatasetId: string | null;
  suffix: string | null;
  hyperparameters: unknown;
  dataOptions: unknown;
  backend: string;
  engine: string | null;
  device: string | null;
  currentStep: number;
  maxSteps: number;
  epoch: number;
  latestLoss: number | null;
  outDir: string;
  summary: unknown;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

export interface MetricRecord {
  step: number;
  loss: number;
  gradNorm: number;
  learningRate: number;
  epoch: number;
  tokensPerSecond: number;
  at: Date;
}

export interface EvalRecord {
  step: number;
  evalLoss: number;
  evalTokens: number;
  evalRuntime: number;
  evalSamplesPerSecond: number;
  epoch: number;
  at: Date;
}

export interface LogRecord {
  level: "INFO" | "WARN" | "ERROR";
  message: string;
  at: Date;
}

export interface CheckpointRecord {
  id: string;
  step: number;
  path: string;
  createdAt: Date;
}

export interface AdapterRecord {
  id: string;
  name: string;
  baseModelId: string;
  runId: string | null;
  r: number;
  loraAlpha: number;
  loraDropout: number;
  targetModules: string[];
  path: string;
  sizeBytes: bigint;
  createdAt: Date;
}

export interface MergedModelRecord {
  id: string;
  adapterId: string;
  baseModelId: string;
  precision: "FP32" | "INT4";
  status: "QUEUED" | "RUNNING" | "READY" | "FAILED";
  path: string;
  sizeBytes: bigint | null;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface GenerationRecord {
  id: string;
  baseModelId: string | null;
  mergedModelId: string | null;
  prompt: string | null;
  messages: unknown;
  sampling: unknown;
  text: string;
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
  timeToFirstTokenMs: number;
  tokensPerSecond: number;
  createdAt: Date;
}

export interface HubPullRecord {
  id: string;
  kind: "MODEL" | "DATASET";
  repo: string;
  revision: string;
  name: string;
  status: "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED";
  commit: string | null;
  path: string;
  bytesDone: bigint;
  bytesTotal: bigint | null;
  error: string | null;
  modelId: string | null;
  datasetIds: string[];
  createdAt: Date;
  updatedAt: Date;
}
