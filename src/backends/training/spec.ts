/**
 * The training spec: one declaration of every hyperparameter (as PEFT's `LoraConfig` fields drive its defaults,
 * docs and CLI). The TS type, the defaults, validation (./validate.ts), the GraphQL types (src/schema), the CLI flags
 * (src/cli/commands/train.ts), the web form and the must-match-on-resume list all derive from this table, so adding
 * a hyperparameter is one entry here. Framework-free.
 */

import { LINEAR_MODULES, type LinearModule } from "../../model/phi-layout.js";

/** LoRA may target any of Phi's linear modules (the one table: model/phi-layout.ts). */
export const TARGET_MODULES = LINEAR_MODULES;
export type TargetModule = LinearModule;

/** The most optimizer steps a run may plan: well inside the 32-bit step columns and GraphQL's Int. */
export const MAX_TRAINING_STEPS = 1_000_000_000;

/** How the run page groups the hyperparameters, in this order, under these titles. */
export const PARAM_GROUPS = { lora: "LoRA", optimizer: "Optimizer", schedule: "Schedule", data: "Data and batching", run: "Logging, checkpoints and compute" } as const;
export type ParamGroup = keyof typeof PARAM_GROUPS;

interface Common {
  /** what the field does, for `--help`, the GraphQL description and the web form's label */
  help: string;
  /** a short readable name for tables (the run page) */
  label: string;
  group: ParamGroup;
  /** the field's name in HF TrainingArguments / LoraConfig / TRL; absent where HF has no such field */
  hf?: string;
  /** a run resumed from a checkpoint must use the same value */
  resumeMustMatch: boolean;
  /** the CLI flag, when it is not the kebab-case name (kept short where the seed's CLI named it so) */
  flag?: string;
  /** shown under "All trainer options" in the web form rather than at the top */
  advanced?: boolean;
}
export interface NumberParam extends Common {
  type: "int" | "float";
  default: number;
  min: number;
  max: number;
  /** the bound itself is not allowed (e.g. learningRate > 0) */
  minExclusive?: boolean;
  maxExclusive?: boolean;
}
export interface BoolParam extends Common {
  type: "bool";
  default: boolean;
}
export interface ChoiceParam extends Common {
  type: "choice";
  choices: readonly string[];
  default: string;
}
export interface ModulesParam extends Common {
  type: "modules";
  choices: readonly TargetModule[];
  default: readonly TargetModule[];
}
export type ParamSpec = NumberParam | BoolParam | ChoiceParam | ModulesParam;

const INT32_MAX = 2 ** 31 - 1;

export const HYPERPARAMETER_SPEC = {
  r: { type: "int", label: "LoRA rank", group: "lora", default: 8, min: 1, max: 1024, help: "LoRA rank r", hf: "r", resumeMustMatch: true, flag: "rank" },
  loraAlpha: { type: "float", label: "LoRA alpha", group: "lora", default: 16, min: 0, minExclusive: true, max: 1e6, help: "lora_alpha (scale alpha / r)", hf: "lora_alpha", resumeMustMatch: true, flag: "alpha" },
  loraDropout: { type: "float", label: "LoRA dropout", group: "lora", default: 0.1, min: 0, max: 1, maxExclusive: true, help: "lora_dropout on the LoRA input", hf: "lora_dropout", resumeMustMatch: true, flag: "dropout" },
  targetModules: { type: "modules", label: "Target modules", group: "lora", choices: TARGET_MODULES, default: ["q_proj", "v_proj"], help: "modules that get LoRA", hf: "target_modules", resumeMustMatch: true, flag: "targets" },
  useRslora: { type: "bool", label: "rsLoRA scaling", group: "lora", default: false, help: "scale alpha / sqrt(r) (rsLoRA)", hf: "use_rslora", resumeMustMatch: true, flag: "rslora", advanced: true },
  batchSize: { type: "int", label: "Batch size", group: "data", default: 4, min: 1, max: 4096, help: "sequences per micro-batch", hf: "per_device_train_batch_size", resumeMustMatch: true },
  gradientAccumulationSteps: { type: "int", label: "Gradient accumulation", group: "data", default: 1, min: 1, max: 4096, help: "micro-batches per optimizer step", hf: "gradient_accumulation_steps", resumeMustMatch: true, flag: "grad-accum", advanced: true },
  learningRate: { type: "float", label: "Learning rate", group: "optimizer", default: 2e-4, min: 0, minExclusive: true, max: 10, help: "peak learning rate", hf: "learning_rate", resumeMustMatch: true, flag: "lr" },
  maxSteps: { type: "int", label: "Max steps", group: "schedule", default: 5000, min: 0, max: MAX_TRAINING_STEPS, help: "optimizer steps; 0: derived from epochs (the default when only epochs is given)", hf: "max_steps", resumeMustMatch: false },
  epochs: { type: "float", label: "Epochs", group: "schedule", default: 1, min: 0, minExclusive: true, max: 1e6, help: "passes over the data, used when maxSteps is 0", hf: "num_train_epochs", resumeMustMatch: false, advanced: true },
  optim: { type: "choice", label: "Optimizer", group: "optimizer", choices: ["adamw", "adamw8bit"], default: "adamw8bit", help: "optimizer (adamw8bit: bitsandbytes-style 8-bit states)", hf: "optim", resumeMustMatch: true, advanced: true },
  weightDecay: { type: "float", label: "Weight decay", group: "optimizer", default: 0, min: 0, max: 10, help: "decoupled weight decay", hf: "weight_decay", resumeMustMatch: false, advanced: true },
  adamBeta1: { type: "float", label: "Adam β1", group: "optimizer", default: 0.9, min: 0, max: 1, maxExclusive: true, help: "Adam beta1", hf: "adam_beta1", resumeMustMatch: false, advanced: true },
  adamBeta2: { type: "float", label: "Adam β2", group: "optimizer", default: 0.999, min: 0, max: 1, maxExclusive: true, help: "Adam beta2", hf: "adam_beta2", resumeMustMatch: false, advanced: true },
  adamEpsilon: { type: "float", label: "Adam ε", group: "optimizer", default: 1e-8, min: 0, minExclusive: true, max: 1, help: "Adam epsilon", hf: "adam_epsilon", resumeMustMatch: false, advanced: true },
  scheduler: { type: "choice", label: "LR schedule", group: "schedule", choices: ["constant", "linear", "cosine"], default: "constant", help: "learning-rate schedule", hf: "lr_scheduler_type", resumeMustMatch: true, advanced: true },
  warmupSteps: { type: "int", label: "Warmup steps", group: "schedule", default: 0, min: 0, max: MAX_TRAINING_STEPS, help: "linear warmup steps", hf: "warmup_steps", resumeMustMatch: true, advanced: true },
  warmupRatio: { type: "float", label: "Warmup ratio", group: "schedule", default: 0, min: 0, max: 1, help: "warmup as a fraction of the steps (when warmupSteps is 0)", hf: "warmup_ratio", resumeMustMatch: true, advanced: true },
  maxGradNorm: { type: "float", label: "Max grad norm", group: "optimizer", default: 0.3, min: 0, max: 1e6, help: "global-norm gradient clipping (0: off)", hf: "max_grad_norm", resumeMustMatch: false, advanced: true },
  maxSeqLength: { type: "int", label: "Max sequence length", group: "data", default: 512, min: 2, max: 131072, help: "truncate (or pack) sequences to this many tokens", hf: "max_seq_length", resumeMustMatch: true, flag: "max-seq-len", advanced: true },
  packing: { type: "bool", label: "Packing", group: "data", default: false, help: "concatenate examples into maxSeqLength blocks (block-diagonal attention, positions restart: no cross-talk)", hf: "packing", resumeMustMatch: true, advanced: true },
  completionOnly: { type: "bool", label: "Completion-only loss", group: "data", default: false, help: "train on assistant turns only", hf: "completion_only_loss", resumeMustMatch: true, advanced: true },
  evalSplit: { type: "float", label: "Eval split", group: "data", default: 0, min: 0, max: 0.5, help: "hold out this share of the conversations (seeded) to evaluate on; 0: none (or an eval dataset)", resumeMustMatch: true, advanced: true },
  seed: { type: "int", label: "Seed", group: "run", default: 42, min: 0, max: INT32_MAX, help: "seed for LoRA init, data order and dropout", hf: "seed", resumeMustMatch: true, advanced: true },
  // HF's default; the seed's job logged every 500 steps too (README)
  loggingSteps: { type: "int", label: "Logging steps", group: "run", default: 500, min: 1, max: MAX_TRAINING_STEPS, help: "report the loss every n steps", hf: "logging_steps", resumeMustMatch: false, advanced: true },
  saveSteps: { type: "int", label: "Save steps", group: "run", default: 500, min: 1, max: MAX_TRAINING_STEPS, help: "write checkpoint-N every n steps", hf: "save_steps", resumeMustMatch: false, advanced: true },
  evalSteps: { type: "int", label: "Eval steps", group: "run", default: 0, min: 0, max: MAX_TRAINING_STEPS, help: "evaluate every n steps (and at the end) when there is an eval set; 0: every saveSteps", hf: "eval_steps", resumeMustMatch: false, advanced: true },
  // tunegraph's own (HF has no such field): a step whose gradients are not finite is skipped, as GradScaler skips it (trainer.ts)
  maxSkippedSteps: { type: "int", label: "Max skipped steps", group: "run", default: 10, min: 1, max: MAX_TRAINING_STEPS, help: "fail the run after this many updates in a row skipped for a loss or gradient norm that is not finite", resumeMustMatch: false, advanced: true },
  quant: { type: "choice", label: "Base weights", group: "lora", choices: ["nf4", "none"], default: "nf4", help: "frozen base weights: NF4 (QLoRA) or full precision", hf: "bnb_4bit_quant_type", resumeMustMatch: true },
  engine: { type: "choice", label: "Engine", group: "run", choices: ["auto", "tfjs", "onnx"], default: "auto", help: "training engine: onnx (ONNX Runtime; CUDA when its provider loads), tfjs, or auto (onnx on CUDA, else tfjs-node-gpu, else onnx on the CPU)", resumeMustMatch: false, advanced: true },
  gradientCheckpointing: { type: "bool", label: "Gradient checkpointing", group: "run", default: false, help: "recompute each layer's forward in backward (less memory, ~1.3x time)", hf: "gradient_checkpointing", resumeMustMatch: false, advanced: true },
} as const satisfies Record<string, ParamSpec>;

type Spec = typeof HYPERPARAMETER_SPEC;
export type HyperparameterName = keyof Spec;

/** The value type a spec entry declares. */
type ValueOf<P> =
  P extends { type: "int" | "float" } ? number
  : P extends { type: "bool" } ? boolean
  : P extends { type: "modules" } ? TargetModule[]
  : P extends { type: "choice"; choices: readonly (infer C)[] } ? C
  : never;

/** Every trainer option; names are the TS spelling of HF TrainingArguments / LoraConfig fields. */
export type TrainingHyperparameters = { -readonly [K in HyperparameterName]: ValueOf<Spec[K]> };

/** The spec's entries in declaration order, typed as the general ParamSpec. */
export const HYPERPARAMETERS = Object.entries(HYPERPARAMETER_SPEC) as [HyperparameterName, ParamSpec][];

/** The reference job: phi-2 QLoRA on OASST1 (rank 8, alpha 16, dropout 0.1 on q_proj/v_proj, batch 4, lr 2e-4, 5000 steps, 8-bit AdamW). */
export const DEFAULT_HYPERPARAMETERS: TrainingHyperparameters = Object.fromEntries(
  HYPERPARAMETERS.map(([name, p]) => [name, Array.isArray(p.default) ? [...p.default] : p.default]),
) as TrainingHyperparameters;

/** Hyperparameters that shape the run: a resumed run must use the same ones. */
export const RESUME_MUST_MATCH: HyperparameterName[] = HYPERPARAMETERS.filter(([, p]) => p.resumeMustMatch).map(([n]) => n);

/** `learningRate` → `learning-rate`, unless the spec names the flag. */
export function flagOf(name: HyperparameterName): string {
  const p: ParamSpec = HYPERPARAMETER_SPEC[name];
  return `--${p.flag ?? name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** What a value must be, in words: "an integer in [1, 1024]", "a number in (0, 10]", "one of nf4, none". */
export function describeRule(p: ParamSpec): string {
  switch (p.type) {
    case "int":
      return `an integer in [${p.min}, ${p.max}]`;
    case "float":
      return `a number in ${p.minExclusive ? "(" : "["}${p.min}, ${p.max}${p.maxExclusive ? ")" : "]"}`;
    case "bool":
      return "true or false";
    case "choice":
      return `one of ${p.choices.join(", ")}`;
    case "modules":
      return `a non-empty list of ${p.choices.join(", ")}`;
  }
}

/** The help line every face shows: what it does and its default. */
export function helpOf(name: HyperparameterName): string {
  const p: ParamSpec = HYPERPARAMETER_SPEC[name];
  const def = Array.isArray(p.default) ? p.default.join(",") : String(p.default);
  return `${p.help} (${p.hf ? `${p.hf}; ` : ""}default ${def})`;
}
