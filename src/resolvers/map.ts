import { shownStatus } from "../services/run-status.js";
import type { EvalPayload, MetricPayload } from "../services/events.js";
import type {
  AdapterRecord,
  BaseModelRecord,
  CheckpointRecord,
  DatasetRecord,
  EvalRecord,
  GenerationRecord,
  MergedModelRecord,
  MetricRecord,
  RunRecord,
} from "../services/records.js";
import { LogLevel, MergeStatus, Precision, RunStatus } from "../schema/enums.js";
import type { DataOptionsType, TrainingHyperparametersType } from "../schema/hyperparameters.js";
import {
  Adapter,
  BaseModel,
  Checkpoint,
  Dataset,
  EvalMetric,
  Generation,
  MergedModel,
  TrainingLog,
  TrainingMetric,
  TrainingRun,
  type ChatMessage,
  type TrainingSummary,
} from "../schema/types.js";

// Service records -> schema objects (BigInt sizes become numbers; JSON columns get their shapes).

/** GraphQL's Float cannot carry NaN or ±Infinity: such a value is served as null (the run's logs say why). */
const finite = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);

export function toBaseModel(m: BaseModelRecord): BaseModel {
  return Object.assign(new BaseModel(), { ...m, parameterCount: Number(m.parameterCount), config: m.config as Record<string, unknown> });
}

export function toDataset(d: DatasetRecord): Dataset {
  return Object.assign(new Dataset(), { ...d, skipped: d.skipped as Record<string, number> });
}

export function toRun(r: RunRecord): TrainingRun {
  return Object.assign(new TrainingRun(), {
    ...r,
    status: shownStatus(r) as RunStatus,
    hyperparameters: r.hyperparameters as TrainingHyperparametersType,
    data: r.dataOptions as DataOptionsType,
    // runs from before steps could be skipped stopped at the first one instead: none skipped
    summary: r.summary === null ? null : ({ skippedSteps: 0, ...(r.summary as object) } as TrainingSummary),
    latestLoss: finite(r.latestLoss),
  });
}

export function toMetric(m: MetricRecord | MetricPayload): TrainingMetric {
  return Object.assign(new TrainingMetric(), {
    step: m.step,
    loss: finite(m.loss),
    gradNorm: finite(m.gradNorm),
    learningRate: m.learningRate,
    epoch: m.epoch,
    tokensPerSecond: m.tokensPerSecond,
    at: new Date(m.at),
  });
}

export function toEval(e: EvalRecord | EvalPayload): EvalMetric {
  const evalLoss = finite(e.evalLoss);
  return Object.assign(new EvalMetric(), {
    step: e.step,
    evalLoss,
    perplexity: evalLoss === null ? null : finite(Math.exp(evalLoss)),
    evalTokens: e.evalTokens,
    evalRuntime: e.evalRuntime,
    evalSamplesPerSecond: e.evalSamplesPerSecond,
    epoch: e.epoch,
    at: new Date(e.at),
  });
}

export function toLog(l: { level: string; message: string; at: Date | string }): TrainingLog {
  return Object.assign(new TrainingLog(), { level: l.level as LogLevel, message: l.message, at: new Date(l.at) });
}

export function toCheckpoint(c: Omit<CheckpointRecord, "createdAt"> & { createdAt: Date | string }): Checkpoint {
  return Object.assign(new Checkpoint(), { id: c.id, step: c.step, path: c.path, createdAt: new Date(c.createdAt) });
}

export function toAdapter(a: AdapterRecord): Adapter {
  return Object.assign(new Adapter(), { ...a, sizeBytes: Number(a.sizeBytes) });
}

export function toMerged(m: MergedModelRecord): MergedModel {
  return Object.assign(new MergedModel(), {
    ...m,
    precision: m.precision as Precision,
    status: m.status as MergeStatus,
    sizeBytes: m.sizeBytes === null ? null : Number(m.sizeBytes),
  });
}

export function toGeneration(g: GenerationRecord): Generation {
  return Object.assign(new Generation(), {
    ...g,
    messages: g.messages as ChatMessage[] | null,
    sampling: g.sampling as Record<string, unknown>,
  });
}
