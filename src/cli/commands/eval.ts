import type { Command } from "commander";
import { runEval } from "../../backends/training/eval-job.js";
import type { HyperparameterName } from "../../backends/training/spec.js";
import { validateHyperparameters } from "../../backends/training/validate.js";
import { validateDataOptions } from "../../data/options.js";
import { action } from "../action.js";
import { hyperparameterOption } from "./train.js";

// the trainer's settings that shape an evaluation (the LoRA shape comes from the adapter)
const SETTINGS: HyperparameterName[] = ["quant", "batchSize", "maxSeqLength", "completionOnly", "engine"];

interface EvalFlags {
  model: string;
  adapter?: string;
  data: string;
  lang?: string;
  allPaths?: boolean;
  json?: boolean;
  [setting: string]: unknown;
}

export function registerEval(program: Command): void {
  const options = SETTINGS.map((name) => [name, hyperparameterOption(name)] as const);
  const cmd = program
    .command("eval")
    .description("score a Phi checkpoint, with or without a PEFT adapter, on conversations: eval_loss (mean cross-entropy over the trained tokens) and perplexity, as the trainer's evaluation")
    .requiredOption("--model <dir>", "HF Phi checkpoint directory")
    .option("--adapter <dir>", "PEFT LoRA adapter to apply (unmerged)")
    .requiredOption("--data <file>", "conversations in any form train --data reads");
  for (const [, option] of options) cmd.addOption(option);
  cmd
    .option("--lang <codes>", "OASST: comma-separated languages to keep (default all)")
    .option("--all-paths", "OASST: every root-to-leaf path instead of the best-ranked one")
    .option("--json", 'print {"eval_loss", "eval_tokens", "perplexity", ...} on stdout')
    .action(action(async (flags: EvalFlags) => {
      const given = options.map(([name, option]) => [name, flags[option.attributeName()]] as const).filter(([, v]) => v !== undefined);
      const r = await runEval({
        modelDir: flags.model, adapterDir: flags.adapter, dataPath: flags.data,
        hyperparameters: validateHyperparameters(Object.fromEntries(given)),
        data: validateDataOptions({ languages: flags.lang?.split(",").map((s) => s.trim()), paths: flags.allPaths ? "all" : undefined }),
      });
      if (flags.json) {
        process.stdout.write(JSON.stringify({
          eval_loss: r.evalLoss, eval_tokens: r.evalTokens, perplexity: r.perplexity, eval_runtime: r.evalRuntime,
          eval_samples_per_second: r.evalSamplesPerSecond, eval_steps_per_second: r.evalStepsPerSecond,
          conversations: r.conversations, sequences: r.sequences, engine: r.engine,
        }) + "\n");
        return;
      }
      process.stdout.write(
        `eval_loss ${r.evalLoss.toFixed(4)} (perplexity ${r.perplexity.toFixed(2)}) over ${r.evalTokens} tokens of ${r.sequences} conversations; ` +
          `${r.evalRuntime.toFixed(1)} s on ${r.engine}\n`,
      );
    }));
}
