import { Option, type Command } from "commander";
import { mergeAdapter } from "../../model/merge.js";
import { action } from "../action.js";

const DTYPES = { f32: "F32", f16: "F16", bf16: "BF16" } as const;

interface MergeFlags {
  model: string;
  adapter: string;
  out: string;
  dtype?: keyof typeof DTYPES;
}

export function registerMerge(program: Command): void {
  program
    .command("merge")
    .description("merge a PEFT LoRA adapter into its full-precision base: W + (lora_alpha / r) · B · A, written as an HF checkpoint directory")
    .requiredOption("--model <dir>", "base HF Phi checkpoint directory (safetensors)")
    .requiredOption("--adapter <dir>", "PEFT adapter directory (adapter_config.json + adapter_model.safetensors)")
    .requiredOption("--out <dir>", "output directory (created; must be absent or empty)")
    .addOption(new Option("--dtype <dtype>", "weight dtype of the merged checkpoint (default: the base's)").choices(Object.keys(DTYPES)))
    .action(action(async (flags: MergeFlags) => {
      const started = performance.now();
      const res = await mergeAdapter(flags.model, flags.adapter, flags.out, { dtype: flags.dtype && DTYPES[flags.dtype] });
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(`merge: ${res.mergedModules} LoRA modules merged into ${flags.model}; wrote ${res.dtype}, `
        + `${res.files.length === 1 ? "1 file" : `${res.files.length} shards`}, ${(res.totalBytes / 1e9).toFixed(2)} GB to ${res.outDir} in ${seconds.toFixed(1)} s\n`);
    }));
}
