/**
 * The seams between the services and the two backends (design.md, "Interfaces at the seams").
 * Framework-free: no tfjs, no ORT, no Prisma here.
 */

import type { DataOptions } from "../data/types.js";
import type { ChatMessage } from "../model/chat-template.js";

// defined by the layers below (model, data), re-exported for the services that build jobs and requests
export type { ChatMessage } from "../model/chat-template.js";
export { DEFAULT_DATA_OPTIONS, type DataOptions } from "../data/types.js";

export interface BackendInfo {
  backend: string; // "tfjs" | "onnx"
  engine: string; // "wasm", "tensorflow", "tensorflow-gpu", "cpu", "ort-cpu", "ort-cuda"
  device: string; // "cpu" | "gpu"
  threads: number;
}

// the training spec (framework-free) declares every hyperparameter; these derive from it
export { DEFAULT_HYPERPARAMETERS, TARGET_MODULES, type TargetModule, type TrainingHyperparameters } from "./training/spec.js";
import type { TrainingHyperparameters } from "./training/spec.js";

export interface TrainingJob {
  modelDir: string; // an HF Phi checkpoint directory
  dataPath: string; // any of the five conversation forms
  outDir: string; // receives checkpoint-N/ dirs and the final adapter
  hyperparameters: TrainingHyperparameters;
  data: DataOptions;
  initAdapterDir?: string; // start LoRA from an existing PEFT adapter
  resumeFrom?: string; // a checkpoint-N dir written by a previous run of this job
  evalDataPath?: string; // held-out conversations to evaluate on (or hyperparameters.evalSplit)
}

/** One logging window, as HF Trainer logs it (`loss` = mean over the window). */
export interface TrainingMetric {
  step: number;
  loss: number;
  gradNorm: number;
  learningRate: number;
  epoch: number;
  tokensPerSecond: number;
}

/** One evaluation's figures, as HF Trainer names them (eval_loss, eval_runtime, ...); perplexity = exp(eval_loss). */
export interface EvalResult {
  evalLoss: number;
  /** the counted (trained) tokens the loss is the mean over */
  evalTokens: number;
  perplexity: number;
  evalRuntime: number;
  evalSamplesPerSecond: number;
  evalStepsPerSecond: number;
}

/** An evaluation during training: at every evalSteps and at the end. */
export interface EvalMetric extends EvalResult {
  step: number;
  epoch: number;
}

/** One optimizer step, reported as it ends (for a progress bar: no DB row per step). */
export interface TrainingStep {
  step: number;
  maxSteps: number;
  /** the step's loss: NaN or ±Infinity when not finite (the step's update is then skipped) */
  loss: number;
}

export interface TrainingSummary {
  trainRuntime: number;
  trainSamplesPerSecond: number;
  trainStepsPerSecond: number;
  /** the mean over the steps that updated the weights */
  trainLoss: number;
  epoch: number;
  globalStep: number;
  /** the last evaluation's loss; null when the run has no eval set */
  evalLoss: number | null;
  /** steps whose update was skipped, their loss or gradient norm not finite (they count in globalStep) */
  skippedSteps: number;
}

export interface CheckpointSaved {
  step: number;
  path: string; // a PEFT adapter dir plus trainer state
}

export interface TrainingStarted {
  maxSteps: number;
  info: BackendInfo;
  conversations: number;
  skipped: Record<string, number>;
}

export interface TrainingEvents {
  onStart?(e: TrainingStarted): void;
  onMetric?(m: TrainingMetric): void;
  onStep?(s: TrainingStep): void;
  onCheckpoint?(c: CheckpointSaved): void;
  onEval?(e: EvalMetric): void;
  onLog?(level: "info" | "warn" | "error", message: string): void;
}

export interface TrainingResult {
  status: "completed" | "cancelled";
  adapterDir: string | null; // final adapter (completed) or last checkpoint (cancelled), null if none yet
  summary: TrainingSummary;
}

export interface TrainingBackend {
  readonly name: string;
  describe(): Promise<BackendInfo>;
  train(job: TrainingJob, events: TrainingEvents, signal: AbortSignal): Promise<TrainingResult>;
}

export type Precision = "fp32" | "int4";

/** The largest adapter rank an adapter-ready export accepts unless told otherwise. */
export const DEFAULT_LORA_MAX_RANK = 64;

export interface ExportOptions {
  precision: Precision;
  /** Merge this PEFT adapter into the checkpoint first (the merged HF checkpoint is written to `mergedDir`), then export that. */
  merge?: { adapterDir: string; mergedDir: string };
  /** Adapter-ready: these linears (PEFT target_modules names) take stacked LoRA A/B as inputs, ranks up to maxRank. */
  lora?: { targets: string[]; maxRank: number };
}

export interface ExportResult {
  outDir: string;
  modelPath: string; // outDir/onnx/model.onnx
  sizeBytes: number;
  precision: Precision;
}

export interface SamplingOptions {
  maxNewTokens: number;
  temperature: number; // 0 = greedy
  topP: number;
  topK: number; // 0 = off
  repetitionPenalty: number;
  seed?: number;
  stop: string[];
}

export const DEFAULT_SAMPLING: SamplingOptions = {
  maxNewTokens: 64,
  temperature: 0,
  topP: 1,
  topK: 0,
  repetitionPenalty: 1,
  stop: [],
};

export interface GenerationRequest extends Partial<SamplingOptions> {
  /** Raw text, used exactly as given; or `messages`, rendered with the chat template. */
  prompt?: string;
  messages?: ChatMessage[];
  /** Left-truncate a prompt longer than the context instead of rejecting it. */
  truncate?: boolean;
  /** A PEFT LoRA adapter directory to decode with, unmerged (the model must be an adapter-ready export). */
  adapter?: string;
}

export type FinishReason = "stop" | "length" | "cancelled";

export interface GenerationResult {
  text: string;
  tokens: number[];
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  timeToFirstTokenMs: number;
  tokensPerSecond: number;
}

export interface LoadedModel {
  readonly dir: string;
  generate(req: GenerationRequest, onText?: (chunk: string) => void, signal?: AbortSignal): Promise<GenerationResult>;
  close(): Promise<void>;
}

export interface InferenceBackend {
  readonly name: string;
  describe(): Promise<BackendInfo>;
  export(checkpointDir: string, outDir: string, opts: ExportOptions): Promise<ExportResult>;
  load(modelDir: string): Promise<LoadedModel>;
  /** Unload every model (their worker threads end; requests in flight finish first). */
  close(): Promise<void>;
}
