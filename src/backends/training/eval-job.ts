/**
 * `tunegraph eval`: a base checkpoint, optionally with a PEFT adapter, scored on a conversation file by the same
 * evaluation the trainer runs (./evaluate.ts), on the same engine choice; so the trainer's last eval_loss and this
 * command agree on the same adapter, data and settings.
 */
import { readConversations } from "../../data/read.js";
import { prepareSequences } from "../../data/sequences.js";
import { Checkpoint } from "../../model/checkpoint.js";
import { UserError } from "../../model/errors.js";
import { readAdapter, type Adapter } from "../../model/peft.js";
import { PhiTokenizer } from "../../model/tokenizer.js";
import type { DataOptions, EvalResult, TrainingHyperparameters } from "../types.js";
import { chooseEngine } from "./engines.js";
import { evaluate } from "./evaluate.js";
import { initialLora, loraOfAdapter } from "./lora.js";
import { TARGET_MODULES, type TargetModule } from "./spec.js";
import { checkSeqLength } from "./validate.js";

export interface EvalJob {
  modelDir: string;
  adapterDir?: string;
  dataPath: string;
  data: DataOptions;
  /** quant, batchSize, maxSeqLength, completionOnly and engine are read; the LoRA shape comes from the adapter */
  hyperparameters: TrainingHyperparameters;
}

export interface EvalReport extends EvalResult {
  conversations: number;
  sequences: number;
  engine: string;
}

export async function runEval(job: EvalJob): Promise<EvalReport> {
  const engine = await chooseEngine(job.hyperparameters.engine);
  const ckpt = await Checkpoint.open(job.modelDir);
  try {
    const config = ckpt.config;
    const adapter = job.adapterDir ? await readAdapter(job.adapterDir, config) : null;
    const hp: TrainingHyperparameters = { ...job.hyperparameters, loraDropout: 0, ...(adapter ? loraShapeOf(adapter, job.adapterDir!) : {}) };
    checkSeqLength(hp, config);
    const tokenizer = await PhiTokenizer.fromDir(job.modelDir);
    const data = await readConversations(job.dataPath, job.data);
    const { sequences } = prepareSequences(data.examples, tokenizer, {
      maxSeqLength: hp.maxSeqLength, completionOnly: hp.completionOnly, packing: false, vocabSize: config.vocab_size, purpose: "eval",
    });
    engine.checkFits(config, hp, sequences.reduce((n, s) => Math.max(n, s.inputIds.length), 0));
    // no adapter: LoRA B is zero at init, so the base model alone is scored
    const lora = adapter ? loraOfAdapter(config, hp, adapter, job.adapterDir!) : initialLora(config, hp, hp.seed);
    const stepper = await engine.load(config, (name) => ckpt.read(name), hp, lora);
    try {
      const result = (await evaluate(stepper, sequences, hp.batchSize, tokenizer.eosTokenId))!;
      return { ...result, conversations: data.examples.length, sequences: sequences.length, engine: `${engine.info.backend}/${engine.info.engine}` };
    } finally {
      stepper.dispose();
    }
  } finally {
    await ckpt.close();
  }
}

/** The LoRA hyperparameters an adapter was trained with (adapter_config.json). */
function loraShapeOf(adapter: Adapter, dir: string): Pick<TrainingHyperparameters, "r" | "loraAlpha" | "useRslora" | "targetModules"> {
  const targets = [...new Set(adapter.config.target_modules)];
  const unknown = targets.filter((m) => !(TARGET_MODULES as readonly string[]).includes(m));
  if (unknown.length > 0) throw new UserError(`adapter ${dir}: target_modules ${unknown.join(", ")} are not Phi linear modules (${TARGET_MODULES.join(", ")})`);
  return { r: adapter.config.r, loraAlpha: adapter.config.lora_alpha, useRslora: adapter.config.use_rslora, targetModules: targets as TargetModule[] };
}
