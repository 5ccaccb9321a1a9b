import { registerEnumType } from "type-graphql";

export enum RunStatus {
  QUEUED = "QUEUED",
  RUNNING = "RUNNING",
  CANCELLING = "CANCELLING",
  SUCCEEDED = "SUCCEEDED",
  FAILED = "FAILED",
  CANCELLED = "CANCELLED",
  INTERRUPTED = "INTERRUPTED",
}

export enum MergeStatus {
  QUEUED = "QUEUED",
  RUNNING = "RUNNING",
  READY = "READY",
  FAILED = "FAILED",
}

export enum Precision {
  FP32 = "FP32",
  INT4 = "INT4",
}

export enum LogLevel {
  INFO = "INFO",
  WARN = "WARN",
  ERROR = "ERROR",
}

export enum ProgressKind {
  /** the run as it is when the subscription starts */
  STATE = "STATE",
  STATUS = "STATUS",
  METRIC = "METRIC",
  /** an evaluation on the run's eval set */
  EVAL = "EVAL",
  CHECKPOINT = "CHECKPOINT",
  LOG = "LOG",
}

registerEnumType(RunStatus, {
  name: "RunStatus",
  valuesConfig: { CANCELLING: { description: "RUNNING, and a cancel was asked for: the run stops after its current step" } },
});
registerEnumType(MergeStatus, { name: "MergeStatus" });
registerEnumType(Precision, { name: "Precision", description: "FP32: full-precision ONNX; INT4: 4-bit MatMulNBits weights" });
registerEnumType(LogLevel, { name: "LogLevel" });
registerEnumType(ProgressKind, { name: "ProgressKind" });
