import { UserError } from "../model/errors.js";
import type { PhiConfig } from "../model/config.js";
import { DEFAULT_HYPERPARAMETERS, TARGET_MODULES, type TargetModule, type TrainingHyperparameters } from "./types.js";

type Field = keyof TrainingHyperparameters;
type Check = (v: unknown) => string | null; // null = fine, else what the value must be

const int = (min: number): Check => (v) => (Number.isInteger(v) && (v as number) >= min ? null : `an integer >= ${min}`);
const positive: Check = (v) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? null : "a number > 0");
const nonNegative: Check = (v) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? null : "a number >= 0");
const halfOpenUnit: Check = (v) => (typeof v === "number" && v >= 0 && v < 1 ? null : "a number in [0, 1)");
const unit: Check = (v) => (typeof v === "number" && v >= 0 && v <= 1 ? null : "a number in [0, 1]");
const bool: Check = (v) => (typeof v === "boolean" ? null : "true or false");
const oneOf = (...xs: string[]): Check => (v) => (xs.includes(v as string) ? null : `one of ${xs.join(", ")}`);

const CHECKS: Record<Exclude<Field, "targetModules">, Check> = {
  r: int(1),
  loraAlpha: positive,
  loraDropout: halfOpenUnit,
  useRslora: bool,
  batchSize: int(1),
  gradientAccumulationSteps: int(1),
  learningRate: positive,
  maxSteps: int(0),
  epochs: positive,
  optim: oneOf("adamw", "adamw8bit"),
  weightDecay: nonNegative,
  adamBeta1: halfOpenUnit,
  adamBeta2: halfOpenUnit,
  adamEpsilon: positive,
  scheduler: oneOf("constant", "linear", "cosine"),
  warmupSteps: int(0),
  warmupRatio: unit,
  maxGradNorm: nonNegative,
  maxSeqLength: int(2),
  packing: bool,
  completionOnly: bool,
  seed: int(0),
  loggingSteps: int(1),
  saveSteps: int(1),
  quant: oneOf("nf4", "none"),
  gradientCheckpointing: bool,
};

/**
 * Fill defaults and check every field of user-given hyperparameters (CLI flags, GraphQL input), before any work.
 * A bad field is a UserError naming it, e.g. "r must be an integer >= 1, got 0". With `config`, `maxSeqLength` is
 * also checked against the model's `max_position_embeddings`.
 */
export function validateHyperparameters(input: Record<string, unknown>, config?: PhiConfig): TrainingHyperparameters {
  for (const key of Object.keys(input)) {
    if (!(key in DEFAULT_HYPERPARAMETERS)) throw new UserError(`unknown hyperparameter "${key}"`);
  }
  const merged: Record<string, unknown> = { ...DEFAULT_HYPERPARAMETERS };
  for (const [k, v] of Object.entries(input)) if (v !== undefined) merged[k] = v;
  for (const [field, check] of Object.entries(CHECKS)) {
    const problem = check(merged[field]);
    if (problem) throw new UserError(`${field} must be ${problem}, got ${JSON.stringify(merged[field])}`);
  }
  const hp = merged as unknown as TrainingHyperparameters;
  hp.targetModules = validateTargets(merged.targetModules);
  if (config) checkSeqLength(hp, config);
  return hp;
}

function validateTargets(v: unknown): TargetModule[] {
  if (!Array.isArray(v) || v.length === 0) {
    throw new UserError(`targetModules must be a non-empty list of ${TARGET_MODULES.join(", ")}, got ${JSON.stringify(v)}`);
  }
  for (const t of v) {
    if (!(TARGET_MODULES as readonly unknown[]).includes(t)) {
      throw new UserError(`targetModules: unknown module ${JSON.stringify(t)}: expected any of ${TARGET_MODULES.join(", ")}`);
    }
  }
  return TARGET_MODULES.filter((t) => v.includes(t)); // canonical order, duplicates dropped
}

/** `maxSeqLength` must fit the model's positions. */
export function checkSeqLength(hp: TrainingHyperparameters, config: PhiConfig): void {
  if (hp.maxSeqLength > config.max_position_embeddings) {
    throw new UserError(`maxSeqLength ${hp.maxSeqLength} is above the model's max_position_embeddings (${config.max_position_embeddings})`);
  }
}
