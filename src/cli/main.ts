import { Command } from "commander";
import { registerInitModel } from "./commands/init-model.js";
import { registerPull } from "./commands/pull.js";
import { registerLogits } from "./commands/logits.js";
import { registerTrain } from "./commands/train.js";
import { registerEval } from "./commands/eval.js";
import { registerMerge } from "./commands/merge.js";
import { registerExport } from "./commands/export.js";
import { registerGenerate } from "./commands/generate.js";
import { registerServe } from "./commands/serve.js";
import { registerWorker } from "./commands/worker.js";

const program = new Command("tunegraph")
  .description("Fine-tune Phi models with QLoRA on OpenAssistant conversations and serve them")
  .showHelpAfterError("(add --help for usage)")
  .configureOutput({ outputError: (str, write) => write(str) });
program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 1));

// one line per subcommand, in the order of the pipeline; each module adds its command to `program`
registerInitModel(program);
registerPull(program);
registerLogits(program);
registerTrain(program);
registerEval(program);
registerMerge(program);
registerExport(program);
registerGenerate(program);
registerServe(program);
registerWorker(program);

await program.parseAsync(process.argv);
