import type { PhiConfig } from "../../model/config.js";
import { fieldError } from "../../model/errors.js";
import {
  DEFAULT_HYPERPARAMETERS, HYPERPARAMETER_SPEC, HYPERPARAMETERS, describeRule,
  type HyperparameterName, type ParamSpec, type TargetModule, type TrainingHyperparameters,
} from "./spec.js";

/** Where hyperparameters sit in a training job's input: errors name `hyperparameters.<name>`. */
export const hyperparameterField = (name: string): string => `hyperparameters.${name}`;

function fits(p: ParamSpec, v: unknown): boolean {
  switch (p.type) {
    case "int":
    case "float":
      if (typeof v !== "number" || !Number.isFinite(v) || (p.type === "int" && !Number.isInteger(v))) return false;
      return (p.minExclusive ? v > p.min : v >= p.min) && (p.maxExclusive ? v < p.max : v <= p.max);
    case "bool":
      return typeof v === "boolean";
    case "choice":
      return p.choices.includes(v as string);
    case "modules":
      return Array.isArray(v) && v.length > 0;
  }
}

/**
 * Fill defaults and check every field of user-given hyperparameters (CLI flags, GraphQL input, the web form), before
 * any work, by the rules of the spec. A bad field is a UserError naming it, e.g. "r must be an integer in [1, 1024],
 * got 0". As in the CLI, `epochs` given without `maxSteps` means "derive the steps from epochs". With `config`,
 * `maxSeqLength` is also checked against the model's `max_position_embeddings`.
 */
export function validateHyperparameters(input: Record<string, unknown>, config?: PhiConfig): TrainingHyperparameters {
  for (const key of Object.keys(input)) {
    if (!(key in HYPERPARAMETER_SPEC)) throw fieldError(hyperparameterField(key), "is not a hyperparameter (unknown field)");
  }
  const merged: Record<string, unknown> = { ...DEFAULT_HYPERPARAMETERS };
  for (const [k, v] of Object.entries(input)) if (v !== undefined) merged[k] = v;
  if (input.epochs !== undefined && input.maxSteps === undefined) merged.maxSteps = 0;
  for (const [name, p] of HYPERPARAMETERS) {
    if (!fits(p, merged[name])) throw fieldError(hyperparameterField(name), `must be ${describeRule(p)}, got ${JSON.stringify(merged[name])}`);
  }
  const hp = merged as unknown as TrainingHyperparameters;
  hp.targetModules = validateTargets(hp.targetModules);
  if (config) checkSeqLength(hp, config);
  return hp;
}

function validateTargets(v: unknown[]): TargetModule[] {
  const known: readonly unknown[] = HYPERPARAMETER_SPEC.targetModules.choices;
  const unknown = v.find((t) => !known.includes(t));
  if (unknown !== undefined) {
    throw fieldError(hyperparameterField("targetModules"), `has an unknown module ${JSON.stringify(unknown)}: expected any of ${known.join(", ")}`);
  }
  return HYPERPARAMETER_SPEC.targetModules.choices.filter((t) => v.includes(t)); // canonical order, duplicates dropped
}

/** `maxSeqLength` must fit the model's positions. */
export function checkSeqLength(hp: TrainingHyperparameters, config: PhiConfig): void {
  if (hp.maxSeqLength > config.max_position_embeddings) {
    throw fieldError(hyperparameterField("maxSeqLength" satisfies HyperparameterName), `${hp.maxSeqLength} is above the model's max_position_embeddings (${config.max_position_embeddings})`);
  }
}
