import path from "node:path";
import type { Command } from "commander";
import { readConversations } from "../../data/read.js";
import { hubAccess } from "../../hub/access.js";
import { pullRepo } from "../../hub/pull.js";
import { Checkpoint } from "../../model/checkpoint.js";
import { parameterCount } from "../../model/config.js";
import { action } from "../action.js";
import { humanBytes, pullProgress } from "../pull-progress.js";

interface PullFlags {
  revision?: string;
  dataset?: boolean;
  out: string;
}

export function registerPull(program: Command): void {
  program
    .command("pull")
    .description(
      "download a model checkpoint (config, safetensors shards and index, tokenizer and generation files) or a dataset's data files " +
        "from the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN); an interrupted pull continues where it stopped",
    )
    .argument("<repo>", "Hub repo id, e.g. microsoft/phi-2 or (with --dataset) OpenAssistant/oasst1")
    .option("--revision <rev>", "branch, tag or commit (default main)")
    .option("--dataset", "a dataset repo (default: a model repo)")
    .requiredOption("--out <dir>", "directory the files land in, under their repo paths (run again with the same one to resume)")
    .action(action(async (repo: string, flags: PullFlags) => {
      const progress = pullProgress();
      const started = performance.now();
      const result = await pullRepo({
        repo,
        kind: flags.dataset ? "dataset" : "model",
        revision: flags.revision,
        out: flags.out,
        access: hubAccess(),
        onProgress: progress.onProgress,
      }).finally(progress.stop);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const bytes = humanBytes(result.files.reduce((n, f) => n + f.size, 0));
      process.stdout.write(`pull: ${repo} at ${result.commit}: ${result.files.length} files, ${bytes} in ${flags.out} (${seconds} s)\n`);
      // what was pulled is read once as registerModel / registerDataset would, so a bad file is found now
      if (result.kind === "model") {
        const checkpoint = await Checkpoint.open(flags.out);
        await checkpoint.close();
        process.stdout.write(`pull: ${checkpoint.config.architectures[0] ?? "PhiForCausalLM"}, ${parameterCount(checkpoint.config).toLocaleString("en-US")} parameters\n`);
      } else {
        for (const { split, path: file } of result.splits) {
          const read = await readConversations(path.join(flags.out, file));
          process.stdout.write(`pull: split ${split} (${file}): ${read.format}, ${read.counts.conversations} conversation${read.counts.conversations === 1 ? "" : "s"} from ${read.counts.rows} rows\n`);
        }
      }
    }));
}
