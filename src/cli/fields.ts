import { flagOf, HYPERPARAMETER_SPEC, type HyperparameterName } from "../backends/training/spec.js";
import { apiFieldName } from "../model/errors.js";

// The flags of the fields that lower layers name in their errors, other than the hyperparameters (whose flags the spec gives)
const FLAGS: Record<string, string> = {
  "data.languages": "--lang",
  "data.paths": "--all-paths",
  outDir: "--out",
  modelDir: "--model",
  dataPath: "--data",
  resumeFrom: "--resume",
  initAdapterDir: "--init-adapter",
  loraTargets: "--lora-targets",
  loraMaxRank: "--lora-max-rank",
};

/** How the CLI names a field a UserError is about: `hyperparameters.loggingSteps` → `--logging-steps`. */
export function cliFieldName(field: string): string {
  const hp = /^hyperparameters\.(\w+)$/.exec(field)?.[1];
  if (hp !== undefined && hp in HYPERPARAMETER_SPEC) return flagOf(hp as HyperparameterName);
  return FLAGS[field] ?? apiFieldName(field);
}
