import { Option, type Command } from "commander";
import { Checkpoint } from "../../model/checkpoint.js";
import { UserError } from "../../model/errors.js";
import { initEngine } from "../../backends/tfjs/engine.js";
import { PhiModel, type Quant } from "../../backends/tfjs/phi.js";
import { adapterHooks, loraLayersOf } from "../../backends/tfjs/lora.js";
import { readAdapter } from "../../model/peft.js";
import { action } from "../action.js";

interface LogitsFlags {
  model: string;
  ids: string;
  quant: Quant;
  adapter?: string;
  json?: boolean;
}

export function registerLogits(program: Command): void {
  program
    .command("logits")
    .description("run the tfjs Phi forward pass on token ids and print the logits of every position")
    .requiredOption("--model <dir>", "HF Phi checkpoint directory")
    .requiredOption("--ids <list>", "comma-separated token ids, e.g. 15496,995,11")
    .addOption(new Option("--quant <mode>", "weights of the linear layers").choices(["none", "nf4"]).default("none"))
    .option("--adapter <dir>", "apply this PEFT LoRA adapter, unmerged, to the forward pass")
    .option("--json", 'print {"logits": [[...], ...]} (float32, one row per position) instead of a summary')
    .action(action(async (flags: LogitsFlags) => {
      const ids = parseIds(flags.ids);
      const engine = await initEngine();
      const ckpt = await Checkpoint.open(flags.model);
      const adapter = flags.adapter ? await readAdapter(flags.adapter, ckpt.config).catch(async (e) => {
        await ckpt.close();
        throw e;
      }) : null;
      let model: PhiModel;
      try {
        model = await PhiModel.load(ckpt.config, (name) => ckpt.read(name), { quant: flags.quant });
      } finally {
        await ckpt.close();
      }
      let rows: number[][];
      const lora = adapter ? loraLayersOf(adapter) : [];
      try {
        const logits = model.forward({ inputIds: [ids] }, { adapters: adapterHooks(lora) });
        rows = (await logits.array())[0];
        logits.dispose();
      } finally {
        lora.forEach((l) => l.dispose());
        model.dispose();
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ logits: rows })}\n`);
        return;
      }
      process.stdout.write(`logits: ${ids.length} positions x ${ckpt.config.vocab_size} (engine ${engine.engine}, quant ${flags.quant})\n`);
      rows.forEach((row, t) => {
        const top = row.map((v, id) => [id, v] as const).sort((a, b) => b[1] - a[1]).slice(0, 5);
        process.stdout.write(`  ${t} id ${ids[t]}: top ${top.map(([id, v]) => `${id} (${v.toFixed(3)})`).join(", ")}\n`);
      });
    }));
}

function parseIds(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  const ids = parts.map(Number);
  const bad = parts.findIndex((s, i) => s === "" || !Number.isInteger(ids[i]) || ids[i] < 0);
  if (bad >= 0) throw new UserError(`--ids: "${parts[bad]}" (item ${bad + 1}) is not a token id: expected comma-separated non-negative integers`);
  return ids;
}
