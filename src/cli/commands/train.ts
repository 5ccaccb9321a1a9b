import { Option, type Command } from "commander";
import { trainingBackend } from "../../backends/registry.js";
import { flagOf, helpOf, HYPERPARAMETER_SPEC, HYPERPARAMETERS, type HyperparameterName, type ParamSpec } from "../../backends/training/spec.js";
import { evalLine } from "../../backends/training/log-line.js";
import { validateHyperparameters } from "../../backends/training/validate.js";
import type { TrainingEvents, TrainingJob, TrainingMetric } from "../../backends/types.js";
import { validateDataOptions } from "../../data/options.js";
import { action, num } from "../action.js";

interface TrainFlags {
  model: string;
  data: string;
  out: string;
  lang?: string;
  allPaths?: boolean;
  initAdapter?: string;
  resume?: string;
  evalData?: string;
  json?: boolean;
  [hyperparameter: string]: unknown;
}

/** One flag per spec entry, its help and default from the spec; commander keeps no defaults of its own. */
export function hyperparameterOption(name: HyperparameterName): Option {
  const p: ParamSpec = HYPERPARAMETER_SPEC[name];
  const flag = flagOf(name);
  const help = helpOf(name);
  switch (p.type) {
    case "int":
    case "float":
      return new Option(`${flag} <n>`, help).argParser(num(flag));
    case "bool":
      return new Option(flag, help);
    case "choice":
      return new Option(`${flag} <name>`, help).choices(p.choices);
    case "modules":
      return new Option(`${flag} <list>`, `${help}: comma-separated, any of ${p.choices.join(",")}`).argParser((v) => v.split(",").map((s) => s.trim()).filter(Boolean));
  }
}

const OPTIONS = HYPERPARAMETERS.map(([name]) => [name, hyperparameterOption(name)] as const);

export function registerTrain(program: Command): void {
  const train = program
    .command("train")
    .description("fine-tune LoRA adapters on a Phi checkpoint (QLoRA: NF4 base) with conversations in any OASST form")
    .requiredOption("--model <dir>", "HF Phi checkpoint directory")
    .requiredOption("--data <file>", "conversations: OASST message rows, OASST trees, guanaco text rows or tokenized rows (.jsonl)")
    .requiredOption("--out <dir>", `new or empty directory: checkpoint-N/ every ${flagOf("saveSteps")}, the final adapter in <dir>/adapter`);
  for (const [, option] of OPTIONS) train.addOption(option);
  train
    .option("--lang <codes>", "OASST: comma-separated languages to keep (default all)")
    .option("--all-paths", "OASST: every root-to-leaf path instead of the best-ranked one")
    .option("--init-adapter <dir>", "start LoRA from this PEFT adapter (same rank and targets)")
    .option("--resume <dir>", "continue from a checkpoint-N directory of a previous run")
    .option("--eval-data <file>", `held-out conversations (any form --data reads) to evaluate on every ${flagOf("evalSteps")} and at the end`)
    .option("--json", "one JSON object per event on stdout instead of a progress bar")
    .action(action(async (flags: TrainFlags) => {
      const given = OPTIONS.map(([name, option]) => [name, flags[option.attributeName()]] as const).filter(([, v]) => v !== undefined);
      const hyperparameters = validateHyperparameters(Object.fromEntries(given));
      const data = validateDataOptions({ languages: flags.lang?.split(",").map((s) => s.trim()), paths: flags.allPaths ? "all" : undefined });
      const job: TrainingJob = {
        modelDir: flags.model, dataPath: flags.data, outDir: flags.out, hyperparameters,
        data,
        initAdapterDir: flags.initAdapter, resumeFrom: flags.resume, evalDataPath: flags.evalData,
      };
      const abort = new AbortController();
      // first Ctrl-C or SIGTERM: stop after the current step, keeping the last checkpoint; a second one: exit now
      const stopper = (signal: "SIGINT" | "SIGTERM", code: number) => () => {
        process.stderr.write(`\n${signal}: stopping after this step (${signal === "SIGINT" ? "Ctrl-C" : "SIGTERM"} again to quit now)\n`);
        abort.abort();
        process.exitCode = code; // stopped, not finished: a supervisor sees the signal's code
        process.once(signal, () => process.exit(code));
      };
      const onSigint = stopper("SIGINT", 130), onSigterm = stopper("SIGTERM", 143);
      process.once("SIGINT", onSigint);
      process.once("SIGTERM", onSigterm);
      const backend = await trainingBackend();
      const result = await backend.train(job, flags.json ? jsonEvents() : progressEvents(), abort.signal)
        .finally(() => (process.off("SIGINT", onSigint), process.off("SIGTERM", onSigterm)));
      if (flags.json) {
        process.stdout.write(JSON.stringify({ type: "summary", status: result.status, adapterDir: result.adapterDir, ...result.summary }) + "\n");
        return;
      }
      const s = result.summary;
      process.stderr.write("\n");
      process.stdout.write(
        `${result.status}: ${s.globalStep} steps, epoch ${s.epoch.toFixed(2)}, train_loss ${s.trainLoss.toFixed(4)}, ` +
          `train_runtime ${s.trainRuntime.toFixed(1)} s, ${s.trainSamplesPerSecond.toFixed(3)} samples/s, ${s.trainStepsPerSecond.toFixed(3)} steps/s` +
          `${s.evalLoss === null ? "" : `, eval_loss ${s.evalLoss.toFixed(4)} (perplexity ${Math.exp(s.evalLoss).toFixed(2)})`}\n` +
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
    onEval: (e) => line({ type: "eval", ...e }),
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
    onEval: (e) => process.stderr.write(`${tty ? "\n" : ""}${evalLine(e)}\n`),
    onLog: (level, message) => process.stderr.write(`${tty ? "\n" : ""}${level}: ${message}\n`),
  };
}
