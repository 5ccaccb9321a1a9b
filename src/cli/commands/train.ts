import { Option, type Command } from "commander";
import { trainingBackend } from "../../backends/registry.js";
import { flagOf, helpOf, HYPERPARAMETER_SPEC, HYPERPARAMETERS, type HyperparameterName, type ParamSpec } from "../../backends/training/spec.js";
import { evalLine } from "../../backends/training/log-line.js";
import { validateHyperparameters } from "../../backends/training/validate.js";
import { skippedText } from "../../backends/training/log-line.js";
import type { TrainingEvents, TrainingJob } from "../../backends/types.js";
import { validateDataOptions } from "../../data/options.js";
import { action, num } from "../action.js";
import { trainProgress } from "../train-progress.js";

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
      const progress = flags.json ? null : trainProgress();
      // first Ctrl-C or SIGTERM: stop after the current step, keeping the last checkpoint; a second one: exit now
      const stopper = (signal: "SIGINT" | "SIGTERM", code: number) => () => {
        const note = `${signal}: stopping after this step (${signal === "SIGINT" ? "Ctrl-C" : "SIGTERM"} again to quit now)`;
        if (progress) progress.line(note);
        else process.stderr.write(`${note}\n`);
        abort.abort();
        process.exitCode = code; // stopped, not finished: a supervisor sees the signal's code
        process.once(signal, () => (progress?.stop(), process.exit(code)));
      };
      const onSigint = stopper("SIGINT", 130), onSigterm = stopper("SIGTERM", 143);
      process.once("SIGINT", onSigint);
      process.once("SIGTERM", onSigterm);
      const backend = await trainingBackend();
      const result = await backend.train(job, progress?.events ?? jsonEvents(), abort.signal)
        .finally(() => (progress?.stop(), process.off("SIGINT", onSigint), process.off("SIGTERM", onSigterm)));
      if (flags.json) {
        process.stdout.write(JSON.stringify({ type: "summary", status: result.status, adapterDir: result.adapterDir, ...result.summary }) + "\n");
        return;
      }
      const s = result.summary;
      process.stdout.write(
        `${result.status}: ${s.globalStep} steps, epoch ${s.epoch.toFixed(2)}, train_loss ${s.trainLoss.toFixed(4)}, ` +
          `train_runtime ${s.trainRuntime.toFixed(1)} s, ${s.trainSamplesPerSecond.toFixed(3)} samples/s, ${s.trainStepsPerSecond.toFixed(3)} steps/s` +
          `${s.evalLoss === null ? "" : `, eval_loss ${s.evalLoss.toFixed(4)} (perplexity ${Math.exp(s.evalLoss).toFixed(2)})`}` +
          `${s.skippedSteps > 0 ? `, ${skippedText(s.skippedSteps)}` : ""}\n` +
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
