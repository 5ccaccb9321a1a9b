import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { literal, UserError } from "../../model/errors.js";
import { SafetensorsFile, writeSafetensors } from "../../model/safetensors.js";
import { RESUME_MUST_MATCH, type TrainingHyperparameters } from "../training/spec.js";
import { hyperparameterField } from "../training/validate.js";
import type { StateTensor } from "./optim/types.js";

export const TRAINER_STATE_FILE = "trainer_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";

/** One entry of HF's `log_history`: a logging step's training figures, or an evaluation's. */
export type LogEntry = TrainLogEntry | EvalLogEntry;

export interface TrainLogEntry {
  step: number;
  loss: number;
  grad_norm: number;
  learning_rate: number;
  epoch: number;
}

export interface EvalLogEntry {
  step: number;
  epoch: number;
  eval_loss: number;
  eval_runtime: number;
  eval_samples_per_second: number;
  eval_steps_per_second: number;
}

export interface RunningMean {
  sum: number;
  count: number;
}

/**
 * HF Trainer's `trainer_state.json` fields, plus what HF keeps in rng_state.pth / optimizer.pt / scheduler.pt, so
 * that a resumed run continues the uninterrupted run exactly.
 */
export interface TrainerState {
  global_step: number;
  epoch: number;
  max_steps: number;
  logging_steps: number;
  save_steps: number;
  train_batch_size: number;
  log_history: LogEntry[];
  rng_state: unknown;
  data_state: unknown;
  optimizer_step: number;
  param_names: string[];
  loss_window: RunningMean;
  loss_total: RunningMean;
  samples_seen: number;
  /** updates skipped for a loss or gradient norm that was not finite: in all, and in a row up to this step */
  skipped_steps: number;
  skipped_in_a_row: number;
  hyperparameters: TrainingHyperparameters;
}

/** Write trainer_state.json and the optimizer moments (safetensors) into a checkpoint dir. */
export async function saveTrainerState(dir: string, state: TrainerState, moments: StateTensor[]): Promise<void> {
  await writeSafetensors(join(dir, OPTIMIZER_FILE), moments, { format: "tunegraph-optimizer" });
  await writeFile(join(dir, TRAINER_STATE_FILE), JSON.stringify(state, null, 2) + "\n");
}

export async function loadTrainerState(dir: string): Promise<{ state: TrainerState; moments: Map<string, Float32Array | Uint8Array> }> {
  const path = join(dir, TRAINER_STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UserError(`resumeFrom ${dir}: no ${TRAINER_STATE_FILE}: not a checkpoint written by tunegraph train`, "NOT_FOUND");
  }
  let state: TrainerState;
  try {
    state = JSON.parse(text) as TrainerState;
  } catch (e) {
    throw new UserError(`${path}: invalid JSON (${(e as Error).message})`);
  }
  if (!Number.isInteger(state.global_step) || !Array.isArray(state.param_names) || typeof state.hyperparameters !== "object") {
    throw new UserError(`${path}: missing global_step, param_names or hyperparameters`);
  }
  const file = await SafetensorsFile.open(join(dir, OPTIMIZER_FILE));
  const moments = new Map<string, Float32Array | Uint8Array>();
  try {
    for (const name of file.names()) {
      moments.set(name, file.info(name).dtype === "U8" ? await file.readRaw(name) : await file.readFloat32(name));
    }
  } finally {
    await file.close();
  }
  return { state, moments };
}

export function checkResumable(saved: TrainingHyperparameters, now: TrainingHyperparameters, dir: string): void {
  for (const k of RESUME_MUST_MATCH) {
    if (JSON.stringify(saved[k]) !== JSON.stringify(now[k])) {
      const template = `{resumeFrom} ${literal(dir)}: {${hyperparameterField(k)}} was ${literal(`${JSON.stringify(saved[k])} in that run, now ${JSON.stringify(now[k])}`)}: resume with the same value`;
      throw new UserError("", { field: hyperparameterField(k), template });
    }
  }
}
