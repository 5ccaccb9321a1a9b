import { Command } from "commander";
import { registerServe } from "./commands/serve.js";
import { registerWorker } from "./commands/worker.js";
import { registerInitModel } from "./commands/init-model.js";
import { registerGenerate } from "./commands/generate.js";
import { registerMerge } from "./commands/merge.js";
import { registerExport } from "./commands/export.js";
import { registerLogits } from "./commands/logits.js";
import { registerTrain } from "./commands/train.js";

const program = new Command("tunegraph")
  .description("Fine-tune Phi models with QLoRA on OpenAssistant conversations and serve them")
  .showHelpAfterError("(add --help for usage)")
  .configureOutput({ outputError: (str, write) => write(str) });
program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 1));

// one line per subcommand; each module adds its command to `program`
registerInitModel(program);
registerGenerate(program);
registerMerge(program);
registerExport(program);
registerLogits(program);
registerTrain(program);
registerServe(program);
registerWorker(program);

await program.parseAsync(process.argv);
