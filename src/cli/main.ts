import { Command } from "commander";
import { registerInitModel } from "./commands/init-model.js";

const program = new Command("tunegraph")
  .description("Fine-tune Phi models with QLoRA on OpenAssistant conversations and serve them")
  .showHelpAfterError("(add --help for usage)")
  .configureOutput({ outputError: (str, write) => write(str) });
program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 1));

// one line per subcommand; each module adds its command to `program`
registerInitModel(program);

await program.parseAsync(process.argv);
