import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initEngine } from "../../../src/backends/tfjs/engine.js";
import { train } from "../../../src/backends/tfjs/trainer.js";
import type { BackendInfo, TrainingHyperparameters, TrainingJob, TrainingMetric } from "../../../src/backends/types.js";
import { UserError } from "../../../src/model/errors.js";
import { fixture, job } from "./fixtures.js";

let f: Awaited<ReturnType<typeof fixture>>;
let info: BackendInfo;
let n = 0;
const out = () => path.join(f.root, `out-${n++}`);
const never = new AbortController().signal;

async function fails(hp: Partial<TrainingHyperparameters>, extra: Partial<TrainingJob> = {}, outDir = out()): Promise<UserError> {
  try {
    await train(job(f, outDir, hp, extra), {}, never, info);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error("training did not fail");
}

beforeAll(async () => {
  info = await initEngine();
  f = await fixture();
});
afterAll(() => f.done());

describe("trainer: bad input is one clear error before any work", () => {
  it("an output directory holding another run", async () => {
    const dir = out();
    await mkdir(path.join(dir, "checkpoint-5"), { recursive: true });
    const e = await fails({}, {}, dir);
    expect(e.message).toMatch(/already holds another run \(checkpoint-5\)/);
    expect(e.code).toBe("CONFLICT");
  });

  it("bad hyperparameters and a sequence length past the model's positions", async () => {
    expect((await fails({ r: 0 })).message).toBe("r must be an integer in [1, 1024], got 0");
    expect((await fails({ maxSeqLength: 4096 })).message).toBe("maxSeqLength 4096 is above the model's max_position_embeddings (128)");
  });

  it("empty data, a malformed line, nothing left after filtering", async () => {
    const empty = path.join(f.root, "empty.jsonl");
    await writeFile(empty, "");
    expect((await fails({}, { dataPath: empty })).message).toMatch(/empty/);
    const bad = path.join(f.root, "bad.jsonl");
    await writeFile(bad, '{"text": "### Human: hi### Assistant: hello"}\n{"text": oops}\n');
    expect((await fails({}, { dataPath: bad })).message).toMatch(/line 2/);
    const german = path.join(f.root, "de.jsonl");
    const rows = [
      { message_id: "a", parent_id: null, role: "prompter", text: "Hallo?", lang: "de", message_tree_id: "a", rank: null },
      { message_id: "b", parent_id: "a", role: "assistant", text: "Guten Tag.", lang: "de", message_tree_id: "a", rank: 0 },
    ];
    await writeFile(german, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const e = await fails({}, { dataPath: german, data: { languages: ["en"], paths: "best", includeDeleted: false, includeSynthetic: false, includeFailedReview: false } });
    expect(e.message).toMatch(/no conversations/);
  });

  it("initAdapterDir: starts from the adapter; a rank or target mismatch is an error", async () => {
    const targetModules: TrainingHyperparameters["targetModules"] = ["q_proj", "fc2"];
    const hp = { r: 4, targetModules, learningRate: 3e-2, loraDropout: 0 };
    const first: TrainingMetric[] = [];
    const a = await train(job(f, out(), { ...hp, maxSteps: 8 }), { onMetric: (m) => first.push(m) }, never, info);
    const fromA: TrainingMetric[] = [];
    await train(job(f, out(), { ...hp, maxSteps: 1 }, { initAdapterDir: a.adapterDir! }), { onMetric: (m) => fromA.push(m) }, never, info);
    expect(fromA[0].loss).toBeLessThan(first[0].loss - 0.3);
    expect((await fails({ ...hp, r: 8 }, { initAdapterDir: a.adapterDir! })).message).toMatch(/rank r=4, but the run asks for r=8/);
    expect((await fails({ ...hp, targetModules: ["q_proj", "v_proj"] }, { initAdapterDir: a.adapterDir! })).message).toMatch(/target_modules are fc2,q_proj, but the run asks for q_proj,v_proj/);
  });

  it("an abort stops the run within a step and keeps the last checkpoint", async () => {
    const ac = new AbortController();
    const dir = out();
    const seen: number[] = [];
    const r = await train(job(f, dir, { maxSteps: 50, saveSteps: 2 }), {
      onMetric: (m) => seen.push(m.step),
      onCheckpoint: (c) => {
        if (c.step === 2) ac.abort();
      },
    }, ac.signal, info);
    expect(r.status).toBe("cancelled");
    expect(r.adapterDir).toBe(path.join(dir, "checkpoint-2"));
    expect(r.summary.globalStep).toBe(2);
    expect(seen).toEqual([1, 2]);
    expect((await readdir(dir)).sort()).toEqual(["checkpoint-2"]);
  });
});
