import { readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onnxStepEngine } from "../../../src/backends/onnx/train/step-engine.js";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { tfjsStepEngine } from "../../../src/backends/tfjs/step-engine.js";
import { runEval } from "../../../src/backends/training/eval-job.js";
import { evaluate, holdOut } from "../../../src/backends/training/evaluate.js";
import { initialLora } from "../../../src/backends/training/lora.js";
import type { StepEngineFactory } from "../../../src/backends/training/step-engine.js";
import { train } from "../../../src/backends/training/trainer.js";
import { DEFAULT_HYPERPARAMETERS, type EvalMetric, type TrainingHyperparameters } from "../../../src/backends/types.js";
import { collate } from "../../../src/data/batcher.js";
import { readConversations } from "../../../src/data/read.js";
import { prepareSequences } from "../../../src/data/sequences.js";
import { Checkpoint } from "../../../src/model/checkpoint.js";
import { PhiTokenizer } from "../../../src/model/tokenizer.js";
import { fixture, job, TINY } from "./fixtures.js";

const OASST = path.resolve(import.meta.dirname, "../../../../shared/data/oasst1/en-validation.jsonl");

let f: Awaited<ReturnType<typeof fixture>>;
let tfjs: StepEngineFactory;
const onnx = onnxStepEngine("cpu");
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

beforeAll(async () => {
  tfjs = tfjsStepEngine(await initEngine());
  f = await fixture();
});
afterAll(() => f.done());

async function sequences(file: string, maxSeqLength = 64) {
  const tokenizer = await PhiTokenizer.fromDir(f.modelDir);
  const { examples } = await readConversations(file);
  return prepareSequences(examples, tokenizer, { maxSeqLength, completionOnly: false, packing: false, purpose: "eval" }).sequences;
}

describe("evaluation (eval_loss as HF defines it: the mean over every counted eval token)", () => {
  for (const [name, engine] of [["tfjs", () => tfjs], ["onnx", () => onnx]] as const) {
    it(`${name}: one batch's eval loss is the training loss of that batch without dropout; the batch size changes nothing`, async () => {
      const hp: TrainingHyperparameters = { ...DEFAULT_HYPERPARAMETERS, quant: "none", loraDropout: 0.1 };
      const seqs = await sequences(f.dataPath);
      const ckpt = await Checkpoint.open(f.modelDir);
      const stepper = await engine().load(TINY, (n) => ckpt.read(n), hp, initialLora(TINY, hp, 1));
      try {
        const whole = await stepper.microStep(collate(seqs, 50256), 1, null);
        const one = (await evaluate(stepper, seqs, seqs.length, 50256))!;
        expect(rel(one.evalLoss, whole.loss)).toBeLessThan(1e-6);
        expect(one.perplexity).toBeCloseTo(Math.exp(one.evalLoss), 10);
        // token-weighted over the whole set, not a mean of batch means: batches of 1 give the same figure (the
        // sequences differ in length, so a mean of per-batch means would not)
        expect(new Set(seqs.map((s) => s.inputIds.length)).size).toBeGreaterThan(1);
        const single = (await evaluate(stepper, seqs, 1, 50256))!;
        expect(rel(single.evalLoss, one.evalLoss)).toBeLessThan(1e-6);
        expect(single.evalTokens).toBe(one.evalTokens);
      } finally {
        stepper.dispose();
        await ckpt.close();
      }
    });
  }

  it("holds out a seeded share of the conversations: the same seed the same ones, at least one on each side", () => {
    const examples = Array.from({ length: 10 }, (_, i) => ({ messages: [{ role: "user", content: String(i) }] })) as never[];
    const a = holdOut(examples, 0.2, 42);
    expect(a.eval).toHaveLength(2);
    expect(a.train).toHaveLength(8);
    expect(holdOut(examples, 0.2, 42)).toEqual(a);
    expect(holdOut(examples, 0.2, 43).eval).not.toEqual(a.eval);
    expect(holdOut(examples, 0.01, 42).eval).toHaveLength(1);
    expect(() => holdOut(examples.slice(0, 1), 0.5, 42)).toThrow(/evalSplit 0.5: the data has 1 conversation\(s\), too few/);
  });

  for (const [name, engine] of [["tfjs", () => tfjs], ["onnx", () => onnx]] as const) {
    it(`${name}: the trainer evaluates every evalSteps and at the end, before the checkpoint of that step, and writes HF's log_history`, async () => {
      const evals: EvalMetric[] = [];
      const order: string[] = [];
      const outDir = path.join(f.root, `eval-${name}`);
      const result = await train(job(f, outDir, { maxSteps: 5, evalSteps: 2, saveSteps: 4, loggingSteps: 1 }, { evalDataPath: f.dataPath }), {
        onEval: (e) => (evals.push(e), order.push(`eval ${e.step}`)),
        onCheckpoint: (c) => order.push(`checkpoint ${c.step}`),
      }, new AbortController().signal, engine());
      expect(order).toEqual(["eval 2", "eval 4", "checkpoint 4", "eval 5", "checkpoint 5"]);
      expect(evals.every((e) => Number.isFinite(e.evalLoss) && e.evalTokens > 0 && e.evalRuntime > 0)).toBe(true);
      expect(result.summary.evalLoss).toBe(evals.at(-1)!.evalLoss);
      const state = JSON.parse(await readFile(path.join(outDir, "checkpoint-5", "trainer_state.json"), "utf8")) as { log_history: object[] };
      const history = state.log_history.filter((h) => "eval_loss" in h);
      expect(history).toEqual(evals.map((e) => ({
        eval_loss: e.evalLoss, eval_runtime: e.evalRuntime, eval_samples_per_second: e.evalSamplesPerSecond,
        eval_steps_per_second: e.evalStepsPerSecond, epoch: e.epoch, step: e.step,
      })));
      // the command scores the final adapter the same way, on the same engine
      const cmd = await runEval({
        modelDir: f.modelDir, adapterDir: result.adapterDir!, dataPath: f.dataPath, data: job(f, outDir, {}).data,
        hyperparameters: { ...DEFAULT_HYPERPARAMETERS, batchSize: 2, maxSeqLength: 64, engine: name },
      });
      expect(rel(cmd.evalLoss, evals.at(-1)!.evalLoss)).toBeLessThan(1e-6);
      expect(cmd.evalTokens).toBe(evals.at(-1)!.evalTokens);
    });
  }

  it("evalSplit holds conversations out of training; an eval file and evalSplit together, or an empty eval file, are one clear error", async () => {
    const starts: number[] = [];
    const evals: EvalMetric[] = [];
    await train(job(f, path.join(f.root, "split"), { maxSteps: 2, evalSplit: 0.5 }), {
      onStart: (s) => starts.push(s.conversations),
      onEval: (e) => evals.push(e),
    }, new AbortController().signal, onnx);
    expect(starts).toEqual([2]); // 4 conversations, 2 held out
    expect(evals.map((e) => e.step)).toEqual([2]);
    await expect(train(job(f, path.join(f.root, "both"), { evalSplit: 0.25 }, { evalDataPath: f.dataPath }), {}, new AbortController().signal, onnx))
      .rejects.toThrow(/evalSplit and an eval dataset cannot be used together/);
    const empty = path.join(f.root, "empty.jsonl");
    await writeFile(empty, "");
    await expect(train(job(f, path.join(f.root, "empty"), {}, { evalDataPath: empty }), {}, new AbortController().signal, onnx))
      .rejects.toThrow(`data file ${empty} is empty`);
  });

  it.skipIf(!existsSync(OASST))("OASST1's validation split: trained-token counts and a finite eval loss on both engines, which agree", async () => {
    const seqs = (await sequences(OASST, 48)).slice(0, 24);
    const hp: TrainingHyperparameters = { ...DEFAULT_HYPERPARAMETERS, quant: "nf4", maxSeqLength: 48 };
    const results = [];
    for (const engine of [tfjs, onnx]) {
      const ckpt = await Checkpoint.open(f.modelDir);
      const stepper = await engine.load(TINY, (n) => ckpt.read(n), hp, initialLora(TINY, hp, 1));
      results.push((await evaluate(stepper, seqs, 4, 50256))!);
      stepper.dispose();
      await ckpt.close();
    }
    expect(results[0].evalTokens).toBe(results[1].evalTokens);
    expect(Number.isFinite(results[0].evalLoss)).toBe(true);
    expect(rel(results[1].evalLoss, results[0].evalLoss)).toBeLessThan(1e-5);
  });
});
