import { Option, type Command } from "commander";
import { PRESET_NAMES, presetConfig } from "../../model/config.js";
import { UserError } from "../../model/errors.js";
import { initModel } from "../../model/init.js";
import { action, num } from "../action.js";

const DTYPES = { f32: "F32", f16: "F16", bf16: "BF16" } as const;

interface InitModelFlags {
  preset: string;
  config?: string;
  out: string;
  seed: number;
  dtype: keyof typeof DTYPES;
}

export function registerInitModel(program: Command): void {
  program
    .command("init-model")
    .description("write an HF PhiForCausalLM checkpoint directory with random weights and the built-in phi-2 tokenizer")
    .addOption(new Option("--preset <name>", "model sizes").choices(PRESET_NAMES).makeOptionMandatory())
    .option("--config <json>", `config.json fields overriding the preset, as a JSON object, e.g. '{"num_hidden_layers": 4}'`)
    .requiredOption("--out <dir>", "output directory (created; must be absent or empty)")
    .option("--seed <n>", "random seed (same seed, same bytes)", num("--seed"), 0)
    .addOption(new Option("--dtype <dtype>", "weight dtype").choices(Object.keys(DTYPES)).default("f32"))
    .action(action(async (flags: InitModelFlags) => {
      const started = performance.now();
      const config = presetConfig(flags.preset, parseOverrides(flags.config));
      const dtype = DTYPES[flags.dtype];
      if (!Number.isSafeInteger(flags.seed)) throw new UserError(`--seed must be an integer, got ${flags.seed}`);
      const written = await initModel({ config, out: flags.out, seed: flags.seed, dtype });
      const seconds = (performance.now() - started) / 1000;
      const shards = written.files.length === 1 ? "1 file" : `${written.files.length} shards`;
      process.stdout.write(`init-model: wrote ${flags.preset} (${written.parameters.toLocaleString("en-US")} parameters, ${dtype}, ${shards}, `
        + `${(written.totalBytes / 1e9).toFixed(2)} GB) to ${flags.out} in ${seconds.toFixed(1)} s\n`);
    }));
}

function parseOverrides(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(`--config: invalid JSON (${(e as Error).message})`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new UserError(`--config: expected a JSON object of config.json fields, got ${text}`);
  return v as Record<string, unknown>;
}
