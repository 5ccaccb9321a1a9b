import { Option, type Command } from "commander";
import { trainingBackend } from "../../backends/registry.js";
import { validateHyperparameters } from "../../backends/training-options.js";
import { DEFAULT_DATA_OPTIONS, DEFAULT_HYPERPARAMETERS, type TrainingEvents, type TrainingJob, type TrainingMetric } from "../../backends/types.js";
import { action, num } from "../action.js";

interface TrainFlags {
  model: string;
  data: string;
  out: string;
  rank: number;
  alpha: number;
  dropout: number;
  targets: string;
  rslora?: boolean;
  batchSize: number;
  gradAccum: number;
  lr: number;
  maxSteps?: number;
  epochs?: number;
  optim: "adamw" | "adamw8bit";
  weightDecay: number;
  scheduler: "constant" | "linear" | "cosine";
  warmupSteps: number;
  warmupRatio: number;
  maxGradNorm: number;
  maxSeqLen: number;
  packing?: boolean;
  completionOnly?: boolean;
  gradientCheckpointing?: boolean;
  seed: number;
  loggingSteps: number;
  saveSteps: number;
  quant: "nf4" | "none";
  lang?: string;
  allPaths?: boolean;
  initAdapter?: string;
  resume?: string;
  json?: boolean;
}

const d = DEFAULT_HYPERPARAMETERS;

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("fine-tune LoRA adapters on a Phi checkpoint (QLoRA: NF4 base) with conversations in any OASST form")
    .requiredOption("--model <dir>", "HF Phi checkpoint directory")
    .requiredOption("--data <file>", "conversations: OASST message rows, OASST trees, guanaco text rows or tokenized rows (.jsonl)")
    .requiredOption("--out <dir>", "new or empty directory: checkpoint-N/ every --save-steps, the final adapter in <dir>/adapter")
    .option("--rank <r>", "LoRA rank r", num("--rank"), d.r)
    .option("--alpha <alpha>", "lora_alpha (scale alpha / r)", num("--alpha"), d.loraAlpha)
    .option("--dropout <p>", "lora_dropout on the LoRA input", num("--dropout"), d.loraDropout)
    .option("--targets <list>", "comma-separated modules: q_proj,k_proj,v_proj,dense,fc1,fc2", d.targetModules.join(","))
    .option("--rslora", "scale alpha / sqrt(r) (use_rslora)")
    .option("--batch-size <n>", "sequences per micro-batch", num("--batch-size"), d.batchSize)
    .option("--grad-accum <n>", "micro-batches per optimizer step", num("--grad-accum"), d.gradientAccumulationSteps)
    .option("--lr <lr>", "peak learning rate", num("--lr"), d.learningRate)
    .option("--max-steps <n>", `optimizer steps (default ${d.maxSteps}, or derived from --epochs when that is given)`, num("--max-steps"))
    .option("--epochs <n>", "passes over the data (used when --max-steps is not given)", num("--epochs"))
    .addOption(new Option("--optim <name>", "optimizer (adamw8bit: bitsandbytes-style 8-bit states; 'paged' has no meaning off the GPU)").choices(["adamw", "adamw8bit"]).default(d.optim))
    .option("--weight-decay <wd>", "decoupled weight decay", num("--weight-decay"), d.weightDecay)
    .addOption(new Option("--scheduler <name>", "learning-rate schedule").choices(["constant", "linear", "cosine"]).default(d.scheduler))
    .option("--warmup-steps <n>", "linear warmup steps", num("--warmup-steps"), d.warmupSteps)
    .option("--warmup-ratio <x>", "warmup as a fraction of the steps (when --warmup-steps is 0)", num("--warmup-ratio"), d.warmupRatio)
    .option("--max-grad-norm <x>", "global-norm gradient clipping (0 = off)", num("--max-grad-norm"), d.maxGradNorm)
    .option("--max-seq-len <n>", "truncate (or pack) sequences to this many tokens", num("--max-seq-len"), d.maxSeqLength)
    .option("--packing", "concatenate examples into --max-seq-len blocks")
    .option("--completion-only", "train on assistant turns only")
    .option("--gradient-checkpointing", "recompute each layer's forward in backward (less memory, ~1.3x time)")
    .option("--seed <n>", "seed for LoRA init, data order and dropout", num("--seed"), d.seed)
    .option("--logging-steps <n>", "report loss every n steps", num("--logging-steps"), 10)
    .option("--save-steps <n>", "write checkpoint-N every n steps", num("--save-steps"), d.saveSteps)
    .addOption(new Option("--quant <mode>", "frozen base weights").choices(["nf4", "none"]).default(d.quant))
    .option("--lang <codes>", "OASST: comma-separated languages to keep (default all)")
    .option("--all-paths", "OASST: every root-to-leaf path instead of the best-ranked one")
    .option("--init-adapter <dir>", "start LoRA from this PEFT adapter (same rank and targets)")
    .option("--resume <dir>", "continue from a checkpoint-N directory of a previous run")
    .option("--json", "one JSON object per event on stdout instead of a progress bar")
    .action(action(async (flags: TrainFlags) => {
      const hyperparameters = validateHyperparameters({
        r: flags.rank, loraAlpha: flags.alpha, loraDropout: flags.dropout,
        targetModules: flags.targets.split(",").map((s) => s.trim()).filter(Boolean), useRslora: flags.rslora === true,
        batchSize: flags.batchSize, gradientAccumulationSteps: flags.gradAccum, learningRate: flags.lr,
        maxSteps: flags.maxSteps ?? (flags.epochs !== undefined ? 0 : d.maxSteps), epochs: flags.epochs ?? d.epochs,
        optim: flags.optim, weightDecay: flags.weightDecay, scheduler: flags.scheduler, warmupSteps: flags.warmupSteps,
        warmupRatio: flags.warmupRatio, maxGradNorm: flags.maxGradNorm, maxSeqLength: flags.maxSeqLen, packing: flags.packing === true,
        completionOnly: flags.completionOnly === true, gradientCheckpointing: flags.gradientCheckpointing === true, seed: flags.seed,
        loggingSteps: flags.loggingSteps, saveSteps: flags.saveSteps, quant: flags.quant,
      });
      const job: TrainingJob = {
        modelDir: flags.model, dataPath: flags.data, outDir: flags.out, hyperparameters,
        data: { ...DEFAULT_DATA_OPTIONS, languages: flags.lang ? flags.lang.split(",").map((s) => s.trim()) : [], paths: flags.allPaths ? "all" : "best" },
        initAdapterDir: flags.initAdapter, resumeFrom: flags.resume,
      };
      const abort = new AbortController();
      // first Ctrl-C: stop after the current step, keeping the last checkpoint; second: exit now
      const onSigint = () => {
        process.stderr.write("\nstopping after this step (Ctrl-C again to quit now)\n");
        abort.abort();
        process.once("SIGINT", () => process.exit(130));
      };
      process.once("SIGINT", onSigint);
      const backend = await trainingBackend();
      const result = await backend.train(job, flags.json ? jsonEvents() : progressEvents(), abort.signal).finally(() => process.off("SIGINT", onSigint));
      if (flags.json) {
        process.stdout.write(JSON.stringify({ type: "summary", status: result.status, adapterDir: result.adapterDir, ...result.summary }) + "\n");
        return;
      }
      const s = result.summary;
      process.stderr.write("\n");
      process.stdout.write(
        `${result.status}: ${s.globalStep} steps, epoch ${s.epoch.toFixed(2)}, train_loss ${s.trainLoss.toFixed(4)}, ` +
          `train_runtime ${s.trainRuntime.toFixed(1)} s, ${s.trainSamplesPerSecond.toFixed(3)} samples/s, ${s.trainStepsPerSecond.toFixed(3)} steps/s\n` +
          `adapter: ${result.adapterDir ?? "(none: stopped before the first checkpoint)"}\n`,
      );
    }));
}

function jsonEvents(): TrainingEvents {
  const line = (o: object) => process.stdout.write(JSON.stringify(o) + "\n");
  return {
    onStart: (e) => line({ type: "start", ...e }),
    onMetric: (m) => line({ type: "metric", ...m }),
    onCheckpoint: (c) => line({ type: "checkpoint", ...c }),
    onLog: (level, message) => process.stderr.write(`${level}: ${message}\n`),
  };
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = Math.floor(seconds % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s).padStart(2, "0")}s`;
}

/** A one-line progress bar on stderr (step/total, loss, ETA), redrawn in place on a terminal. */
function progressEvents(): TrainingEvents {
  let total = 0;
  let t0 = 0;
  let startStep = -1;
  const tty = process.stderr.isTTY === true;
  return {
    onStart: (e) => {
      total = e.maxSteps;
      t0 = performance.now();
      const skipped = Object.entries(e.skipped).map(([k, n]) => `${k} ${n}`).join(", ");
      process.stderr.write(`training on ${e.info.engine} (${e.info.device}): ${e.conversations} conversations${skipped ? `, skipped ${skipped}` : ""}\n`);
    },
    onMetric: (m: TrainingMetric) => {
      if (startStep < 0) startStep = m.step - 1;
      const perStep = (performance.now() - t0) / 1000 / Math.max(1, m.step - startStep);
      const width = 24;
      const filled = Math.round((m.step / Math.max(1, total)) * width);
      const bar = "#".repeat(filled) + ".".repeat(width - filled);
      const text = `step ${m.step}/${total} [${bar}] loss ${m.loss.toFixed(4)} grad_norm ${m.gradNorm.toFixed(3)} lr ${m.learningRate.toExponential(2)} epoch ${m.epoch.toFixed(2)} ${m.tokensPerSecond.toFixed(0)} tok/s ETA ${duration(perStep * (total - m.step))}`;
      process.stderr.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
    },
    onCheckpoint: (c) => process.stderr.write(`${tty ? "\n" : ""}saved ${c.path}\n`),
    onLog: (level, message) => process.stderr.write(`${tty ? "\n" : ""}${level}: ${message}\n`),
  };
}
