import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Batcher } from "../../data/batcher.js";
import { readConversations } from "../../data/read.js";
import { prepareSequences } from "../../data/sequences.js";
import { Checkpoint } from "../../model/checkpoint.js";
import { UserError } from "../../model/errors.js";
import { makeDir } from "../../model/make-dir.js";
import { loraConfig, readAdapter, writeAdapter } from "../../model/peft.js";
import { Rng } from "../../model/random.js";
import { PhiTokenizer } from "../../model/tokenizer.js";
import type { EvalMetric, TrainingEvents, TrainingHyperparameters, TrainingJob, TrainingResult, TrainingSummary } from "../types.js";
import { evaluate, holdOut } from "./evaluate.js";
import { initialLora, loraOfAdapter, loraParamNames, loraParams, loraWeightsOf } from "./lora.js";
import { AdamW } from "./optim/adamw.js";
import { AdamW8bit } from "./optim/adamw8bit.js";
import type { Optimizer } from "./optim/types.js";
import { learningRateAt } from "./schedule.js";
import type { StepEngine, StepEngineFactory } from "./step-engine.js";
import { trainingSteps } from "./steps.js";
import { evalLogEntry } from "./log-line.js";
import { checkResumable, loadTrainerState, saveTrainerState, type LogEntry, type RunningMean, type TrainerState } from "./trainer-state.js";
import { checkSeqLength, validateHyperparameters } from "./validate.js";

/** The final adapter goes to `outDir/adapter`; checkpoints to `outDir/checkpoint-N`. */
export const FINAL_ADAPTER_DIR = "adapter";

/** An output dir that holds files is another run's, unless this job resumes from a checkpoint; it is created here. */
async function checkOutDir(job: TrainingJob): Promise<void> {
  const entries = await readdir(job.outDir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return [] as string[];
    if (e.code === "ENOTDIR") throw new UserError(`outDir ${job.outDir} exists and is not a directory`, "CONFLICT");
    throw e;
  });
  if (entries.length > 0 && !job.resumeFrom) {
    throw new UserError(`outDir ${job.outDir} already holds another run (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", ..." : ""}): choose an empty directory, or resume from one of its checkpoints`, "CONFLICT");
  }
  // made now, so that a directory that cannot be made (no permission, /proc) fails before the model loads
  await makeDir(job.outDir);
}

export function makeOptimizer(hp: TrainingHyperparameters, sizes: number[]): Optimizer {
  const o = { beta1: hp.adamBeta1, beta2: hp.adamBeta2, eps: hp.adamEpsilon, weightDecay: hp.weightDecay };
  return hp.optim === "adamw8bit" ? new AdamW8bit(sizes, o) : new AdamW(sizes, o);
}

// NaN when no step updated (all skipped, or none run): there is no mean loss to report
const mean = (m: RunningMean) => (m.count > 0 ? m.sum / m.count : NaN);
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Fine-tune LoRA adapters on a frozen (NF4 or full-precision) Phi: every user mistake is found before the model
 * loads; metrics every `loggingSteps`, a checkpoint every `saveSteps` and at the end, an evaluation every `evalSteps`
 * and at the end when there is an eval set (`job.evalDataPath` or `evalSplit`); `signal` stops the run before its
 * next micro-batch, keeping the last checkpoint. `engine` runs the micro-steps (./step-engine.ts). A step whose
 * loss (or gradient norm) is not finite is skipped and logged; `maxSkippedSteps` of them in a row end the run with a
 * UserError ("loss is not finite (NaN) at steps 3-12: 10 updates skipped in a row: ...").
 */
export async function train(job: TrainingJob, events: TrainingEvents, signal: AbortSignal, engine: StepEngineFactory): Promise<TrainingResult> {
  const info = engine.info;
  const started = performance.now();
  const hp = validateHyperparameters(job.hyperparameters as unknown as Record<string, unknown>);
  await checkOutDir(job);
  const resumed = job.resumeFrom ? await loadTrainerState(job.resumeFrom) : null;
  if (resumed) checkResumable(resumed.state.hyperparameters, hp, job.resumeFrom!);
  if (resumed && job.initAdapterDir) throw new UserError("initAdapterDir and resumeFrom cannot be used together: a checkpoint already holds its adapter");
  if (job.evalDataPath && hp.evalSplit > 0) throw new UserError("evalSplit and an eval dataset cannot be used together: hold out a share of the training data, or evaluate on the eval dataset");

  const ckpt = await Checkpoint.open(job.modelDir);
  let stepper: StepEngine | null = null;
  try {
    const config = ckpt.config;
    checkSeqLength(hp, config);
    const tokenizer = await PhiTokenizer.fromDir(job.modelDir);
    const data = await readConversations(job.dataPath, job.data);
    const split = hp.evalSplit > 0 ? holdOut(data.examples, hp.evalSplit, hp.seed) : { train: data.examples, eval: null };
    const evalExamples = job.evalDataPath ? (await readConversations(job.evalDataPath, job.data)).examples : split.eval;
    const prepared = prepareSequences(split.train, tokenizer, {
      maxSeqLength: hp.maxSeqLength, completionOnly: hp.completionOnly, packing: hp.packing, vocabSize: config.vocab_size,
    });
    // evaluation never packs: each held-out conversation is scored on its own, as `tunegraph eval` scores it
    const evalSet = evalExamples
      ? prepareSequences(evalExamples, tokenizer, {
          maxSeqLength: hp.maxSeqLength, completionOnly: hp.completionOnly, packing: false, vocabSize: config.vocab_size, purpose: "eval",
        }).sequences
      : null;
    const batcher = new Batcher(prepared.sequences, { batchSize: hp.batchSize, seed: hp.seed, padTokenId: tokenizer.eosTokenId });
    engine.checkFits(config, hp, [...prepared.sequences, ...(evalSet ?? [])].reduce((n, s) => Math.max(n, s.inputIds.length), 0));
    const adapterDir = job.resumeFrom ?? job.initAdapterDir;
    const adapter = adapterDir ? await readAdapter(adapterDir, config) : null;
    const lora = adapter ? loraOfAdapter(config, hp, adapter, adapterDir!) : initialLora(config, hp, hp.seed);
    if (adapter && (adapter.config.lora_alpha !== hp.loraAlpha || adapter.config.use_rslora !== hp.useRslora)) {
      events.onLog?.("warn", `${adapterDir}: lora_alpha ${adapter.config.lora_alpha}, use_rslora ${adapter.config.use_rslora}; training with loraAlpha ${hp.loraAlpha}, useRslora ${hp.useRslora}`);
    }

    stepper = await engine.load(config, (name) => ckpt.read(name), hp, lora);
    const params = loraParams(lora, hp.r);
    const optimizer = makeOptimizer(hp, params.map((p) => p.length));
    const maxSteps = trainingSteps(hp, prepared.sequences.length);
    let rng = new Rng(hp.seed, "lora_dropout");
    let step = 0;
    let window: RunningMean = { sum: 0, count: 0 };
    let total: RunningMean = { sum: 0, count: 0 };
    let samples = 0;
    let skipped = 0;
    let skippedInARow = 0;
    let history: LogEntry[] = [];
    const paramNames = loraParamNames(lora);
    if (resumed) {
      const s = resumed.state;
      if (JSON.stringify(s.param_names) !== JSON.stringify(paramNames)) throw new UserError(`resumeFrom ${job.resumeFrom}: its LoRA tensors differ from this run's`);
      optimizer.restore(s.optimizer_step, resumed.moments);
      batcher.restore(s.data_state);
      rng = Rng.fromState(s.rng_state);
      ({ global_step: step, loss_window: window, loss_total: total, samples_seen: samples, log_history: history } = s);
      // absent from checkpoints written before steps could be skipped
      ({ skipped_steps: skipped = 0, skipped_in_a_row: skippedInARow = 0 } = s);
    }
    events.onStart?.({ maxSteps, info, conversations: split.train.length, skipped: { ...data.counts.skipped, ...prepared.counts.skipped } });
    events.onLog?.("info", `${prepared.counts.sequences} sequences (${prepared.counts.trainedTokens} trained tokens, ${prepared.counts.truncated} truncated), ${maxSteps} steps of ${hp.batchSize} × ${hp.gradientAccumulationSteps}, ${hp.quant} base, ${hp.optim}`);
    const evalEvery = hp.evalSteps > 0 ? hp.evalSteps : hp.saveSteps;
    if (evalSet) events.onLog?.("info", `evaluating on ${evalSet.length} held-out conversations (${job.evalDataPath ? "eval dataset" : `evalSplit ${hp.evalSplit}`}) every ${evalEvery} steps and at the end`);

    let lastCheckpoint: string | null = resumed ? job.resumeFrom! : null;
    let lastSavedStep = resumed ? step : -1;
    const save = async (): Promise<void> => {
      const dir = join(job.outDir, `checkpoint-${step}`);
      await writeAdapter(dir, peft, loraWeightsOf(params, lora, hp.r));
      const state: TrainerState = {
        global_step: step, epoch: batcher.epoch, max_steps: maxSteps, logging_steps: hp.loggingSteps, save_steps: hp.saveSteps,
        train_batch_size: hp.batchSize, log_history: history, rng_state: rng.state(), data_state: batcher.state(),
        optimizer_step: optimizer.stepCount, param_names: paramNames, loss_window: window, loss_total: total, samples_seen: samples,
        skipped_steps: skipped, skipped_in_a_row: skippedInARow, hyperparameters: hp,
      };
      await saveTrainerState(dir, state, optimizer.state());
      events.onCheckpoint?.({ step, path: dir });
      lastCheckpoint = dir;
      lastSavedStep = step;
    };
    const peft = loraConfig({ ...hp, baseModel: job.modelDir });
    let lastEvalStep = -1;
    const runEval = async (): Promise<void> => {
      const r = await evaluate(stepper!, evalSet!, hp.batchSize, tokenizer.eosTokenId, signal);
      if (!r) return; // cancelled under way: the loop stops at its next micro-batch
      const e: EvalMetric = { ...r, step, epoch: batcher.epoch };
      history = [...history, evalLogEntry(e)];
      lastEvalStep = step;
      events.onEval?.(e);
    };

    const runStart = performance.now();
    const startStep = step;
    const startSamples = samples;
    let windowStart = performance.now();
    let windowTokens = 0;
    let cancelled = false;
    while (step < maxSteps) {
      const grads = params.map((p) => new Float32Array(p.length));
      let stepLoss = 0;
      for (let k = 0; k < hp.gradientAccumulationSteps; k++) {
        await yieldToEventLoop(); // lets an abort message reach a worker thread
        if (signal.aborted) {
          cancelled = true;
          break;
        }
        const batch = batcher.next();
        const seeds = hp.loraDropout > 0 ? lora.map(() => rng.nextUint32()) : null;
        const r = await stepper.microStep(batch, 1 / hp.gradientAccumulationSteps, seeds);
        stepLoss += r.loss;
        r.grads.forEach((g, i) => {
          const acc = grads[i];
          for (let j = 0; j < g.length; j++) acc[j] += g[j];
        });
        windowTokens += batch.tokens;
        samples += batch.batchSize;
      }
      if (cancelled) break;
      const gradNorm = clipGradients(grads, hp.maxGradNorm);
      // NaN would spread to every LoRA weight through the update, so such a step is skipped as torch's GradScaler skips
      // it: the weights and the optimizer (moments, step count) stay as they were. The step still counts, as in HF's
      // global_step, and the learning rate stays a function of it (HF's scheduler, stepped only after an update, lags)
      const finite = Number.isFinite(stepLoss) && Number.isFinite(gradNorm);
      if (finite) {
        optimizer.step(params, grads, learningRateAt(hp, step, maxSteps));
        stepper.setParams(params);
      }
      step++;
      if (finite) {
        skippedInARow = 0;
        // the logged and the final means are over the steps that updated: one NaN would make them NaN, as HF's become
        window = { sum: window.sum + stepLoss, count: window.count + 1 };
        total = { sum: total.sum + stepLoss, count: total.count + 1 };
      } else {
        skipped++;
        skippedInARow++;
        events.onLog?.("warn", `step ${step}: ${notFinite(stepLoss, gradNorm)}: update skipped (${skippedInARow} in a row)`);
      }
      if (step % hp.loggingSteps === 0 || step === maxSteps) {
        const seconds = (performance.now() - windowStart) / 1000;
        // a window of skipped steps only reports the last one's loss, not finite as it may be
        const loss = window.count > 0 ? mean(window) : stepLoss;
        const entry: LogEntry = { step, loss, grad_norm: gradNorm, learning_rate: learningRateAt(hp, step, maxSteps), epoch: batcher.epoch };
        history = [...history, entry];
        events.onMetric?.({ step, loss: entry.loss, gradNorm, learningRate: entry.learning_rate, epoch: entry.epoch, tokensPerSecond: seconds > 0 ? windowTokens / seconds : 0 });
        window = { sum: 0, count: 0 };
        windowTokens = 0;
        windowStart = performance.now();
      }
      events.onStep?.({ step, maxSteps, loss: stepLoss });
      if (skippedInARow >= hp.maxSkippedSteps) throw new UserError(tooManySkipped(stepLoss, gradNorm, step, skippedInARow));
      // as HF's _maybe_log_save_evaluate: evaluate, then save (the checkpoint's log_history holds the evaluation)
      if (evalSet && (step % evalEvery === 0 || step === maxSteps)) await runEval();
      if (step % hp.saveSteps === 0) await save();
    }

    let finalDir = lastCheckpoint;
    if (!cancelled) {
      if (evalSet && lastEvalStep !== step) await runEval();
      if (lastSavedStep !== step) await save();
      finalDir = join(job.outDir, FINAL_ADAPTER_DIR);
      await writeAdapter(finalDir, peft, loraWeightsOf(params, lora, hp.r));
    }
    const runtime = (performance.now() - started) / 1000;
    const steps = step - startStep;
    const loopSeconds = (performance.now() - runStart) / 1000;
    const summary: TrainingSummary = {
      trainRuntime: runtime,
      trainSamplesPerSecond: loopSeconds > 0 ? (samples - startSamples) / loopSeconds : 0,
      trainStepsPerSecond: loopSeconds > 0 ? steps / loopSeconds : 0,
      trainLoss: mean(total),
      epoch: batcher.epoch,
      globalStep: step,
      evalLoss: history.findLast((h) => "eval_loss" in h)?.eval_loss ?? null,
      skippedSteps: skipped,
    };
    return { status: cancelled ? "cancelled" : "completed", adapterDir: finalDir, summary };
  } finally {
    stepper?.dispose();
    await ckpt.close();
  }
}

function notFinite(loss: number, gradNorm: number): string {
  return Number.isFinite(loss) ? `the gradient norm is not finite (${gradNorm})` : `loss is not finite (${loss})`;
}

/** Why the run stops: its last step's reason, the steps skipped in a row, and what to check. */
function tooManySkipped(loss: number, gradNorm: number, step: number, inARow: number): string {
  const steps = inARow > 1 ? `steps ${step - inARow + 1}-${step}` : `step ${step}`;
  const updates = inARow > 1 ? `${inARow} updates` : "1 update";
  return `${notFinite(loss, gradNorm)} at ${steps}: ${updates} skipped in a row: training stopped; check the base model's weights (NaN or Inf) and the learning rate`;
}

/** torch.nn.utils.clip_grad_norm_: scale by max/(norm + 1e-6) when that is < 1; returns the norm before clipping. */
export function clipGradients(grads: Float32Array[], maxNorm: number): number {
  let sq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (maxNorm > 0 && coef < 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}
