import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnnxBackend } from "../../../src/backends/onnx/backend.js";
import { BatchCache } from "../../../src/backends/onnx/kv-cache.js";
import { ModelSession } from "../../../src/backends/onnx/session.js";
import type { GenerationRequest, GenerationResult } from "../../../src/backends/types.js";
import { UserError } from "../../../src/model/errors.js";
import { tinyExportedModel } from "./fixture.js";

let dir: string;
let cleanup: () => Promise<void>;
let backend: OnnxBackend;

beforeAll(async () => {
  ({ dir, cleanup } = await tinyExportedModel());
  backend = new OnnxBackend({ threads: 1, maxBatchSize: 8 });
});

afterAll(async () => {
  await backend?.close();
  await cleanup?.();
});

const PROMPTS = ["The quick brown fox", "Once upon a time, in a land far away, there lived", "Hi"];
// longer than one block of cache slots (64): rows of different capacities share a batch
const LONG = "A long prompt that goes on and on, listing one thing after another: " + Array.from({ length: 40 }, (_, i) => `item ${i}`).join(", ");

async function alone(reqs: GenerationRequest[]): Promise<GenerationResult[]> {
  const model = await backend.load(dir);
  const out: GenerationResult[] = [];
  for (const r of reqs) out.push(await model.generate(r));
  return out;
}

describe("generation on ORT (tiny exported model)", () => {
  it("decodes with the KV cache exactly as a full recompute", async () => {
    const session = await ModelSession.open(dir, { device: "cpu", threads: 1 });
    try {
      const ids = session.tokenizer.encode("KV caches must not change the logits at all");
      const split = 4;
      // the prompt goes through the prefill session (cache in place), the single tokens through the decode session
      expect([session.kvMode(1, split), session.kvMode(1, 1), session.kvMode(2, split)]).toEqual(["in-place", "new-outputs", "new-outputs"]);
      // prompt in one go, then the rest one token at a time, reading the logits of each step
      const cache = BatchCache.empty(session.kv, 1);
      await session.step(cache, [ids.slice(0, split)], [[0, 1, 2, 3]]);
      let last: Float32Array = new Float32Array(0);
      for (let i = split; i < ids.length; i++) last = (await session.step(cache, [[ids[i]]], [[i]])).logits;
      const full = await session.step(BatchCache.empty(session.kv, 1), [ids], [ids.map((_, i) => i)]);
      const v = full.vocab;
      const ref = full.logits;
      expect(ref.length).toBe(v);
      let worst = 0;
      for (let j = 0; j < v; j++) worst = Math.max(worst, Math.abs(last[j] - ref[j]) / (Math.abs(ref[j]) + 1e-3));
      expect(worst).toBeLessThan(1e-4);
      expect(cache.lengths).toEqual([ids.length]);
    } finally {
      await session.close();
    }
  });

  it("gives each request of a batch the same tokens as decoding it alone (greedy and seeded)", async () => {
    const reqs: GenerationRequest[] = [
      { prompt: PROMPTS[0], maxNewTokens: 12 },
      { prompt: PROMPTS[1], maxNewTokens: 20, temperature: 0.8, topP: 0.9, seed: 5 },
      { prompt: PROMPTS[2], maxNewTokens: 6, temperature: 1.2, topK: 20, repetitionPenalty: 1.3, seed: 9 },
      { prompt: LONG, maxNewTokens: 8 },
    ];
    const single = await alone(reqs);
    const model = await backend.load(dir);
    let widest = 0;
    const together = await Promise.all(reqs.map((r) => model.generate(r, () => (widest = Math.max(widest, model.load.running)))));
    expect(widest).toBe(4); // they did share decode steps
    together.forEach((r, i) => {
      expect(r.tokens).toEqual(single[i].tokens);
      expect(r.text).toBe(single[i].text);
      expect(r.finishReason).toBe("length");
      expect(r.completionTokens).toBe(reqs[i].maxNewTokens);
    });
  });

  it("lets a request join mid-stream and still decodes both as alone", async () => {
    const a: GenerationRequest = { prompt: PROMPTS[1], maxNewTokens: 16 };
    const b: GenerationRequest = { prompt: PROMPTS[0], maxNewTokens: 8 };
    const single = await alone([a, b]);
    const model = await backend.load(dir);
    let late: Promise<GenerationResult> | undefined;
    let chunks = 0;
    const first = await model.generate(a, () => {
      if (++chunks === 5) late = model.generate(b);
    });
    expect(first.tokens).toEqual(single[0].tokens);
    expect((await late!).tokens).toEqual(single[1].tokens);
  });

  it("prefills in chunks interleaved with the others' decode steps, with the same tokens", async () => {
    const reqs: GenerationRequest[] = [{ prompt: PROMPTS[0], maxNewTokens: 10 }, { prompt: PROMPTS[1], maxNewTokens: 10 }];
    const single = await alone(reqs);
    const chunked = new OnnxBackend({ threads: 1, prefillChunk: 3 });
    try {
      const model = await chunked.load(dir);
      const both = await Promise.all(reqs.map((r) => model.generate(r)));
      both.forEach((r, i) => expect(r.tokens).toEqual(single[i].tokens));
    } finally {
      await chunked.close();
    }
  });

  it("is reproducible for a seed and differs across seeds", async () => {
    const model = await backend.load(dir);
    const req = { prompt: PROMPTS[0], maxNewTokens: 16, temperature: 1.5, seed: 123 };
    const [x, y, z] = await Promise.all([model.generate(req), model.generate(req), model.generate({ ...req, seed: 124 })]);
    expect(y.tokens).toEqual(x.tokens);
    expect(z.tokens).not.toEqual(x.tokens);
  });

  it("frees a cancelled request's slot at the next step", async () => {
    const narrow = new OnnxBackend({ threads: 1, maxBatchSize: 1 });
    try {
      const model = await narrow.load(dir);
      const controller = new AbortController();
      let chunks = 0;
      const long = model.generate({ prompt: PROMPTS[0], maxNewTokens: 200 }, () => {
        if (++chunks === 3) controller.abort();
      }, controller.signal);
      const waiting = model.generate({ prompt: PROMPTS[2], maxNewTokens: 5 });
      const [cancelled, next] = await Promise.all([long, waiting]);
      expect(cancelled.finishReason).toBe("cancelled");
      // the cancel reaches the serving thread a few (fast, tiny-model) steps later; it then leaves at once
      expect(cancelled.completionTokens).toBeLessThan(100);
      expect(cancelled.text.length).toBeGreaterThan(0);
      expect(next.finishReason).toBe("length");
      expect(next.tokens).toEqual((await alone([{ prompt: PROMPTS[2], maxNewTokens: 5 }]))[0].tokens);
      const already = new AbortController();
      already.abort();
      expect(await model.generate({ prompt: "x" }, undefined, already.signal)).toMatchObject({ finishReason: "cancelled", completionTokens: 0 });
    } finally {
      await narrow.close();
    }
  });

  it("stops on a stop sequence taken from the greedy text, and reports timings", async () => {
    const model = await backend.load(dir);
    const base = await model.generate({ prompt: PROMPTS[0], maxNewTokens: 12 });
    expect(base.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(base.tokensPerSecond).toBeGreaterThan(0);
    expect(base.promptTokens).toBeGreaterThan(0);
    // a stop string straddling the boundary between the 3rd and 4th generated tokens
    const tok = (await ModelSession.open(dir)).tokenizer;
    const head = tok.decode(base.tokens.slice(0, 3));
    const stop = head.slice(-2) + tok.decode(base.tokens.slice(3, 4)).slice(0, 2);
    const cut = base.text.indexOf(stop);
    const stopped = await model.generate({ prompt: PROMPTS[0], maxNewTokens: 12, stop: [stop] });
    expect(stopped.finishReason).toBe("stop");
    expect(stopped.text).toBe(base.text.slice(0, cut));
  });

  it("rejects bad requests and unknown model directories with a UserError, and keeps serving", async () => {
    const model = await backend.load(dir);
    await expect(model.generate({ prompt: "x", topP: 2 })).rejects.toThrow(/topP/);
    await expect(model.generate({ prompt: "x", maxNewTokens: 100000 })).rejects.toThrow(/maxNewTokens/);
    await expect(backend.load(`${dir}-missing`)).rejects.toBeInstanceOf(UserError);
    expect((await model.generate({ prompt: "x", maxNewTokens: 2 })).completionTokens).toBe(2);
  });
});

describe("generation on an int4 export (float16 cache)", () => {
  it("decodes a batch as each request alone", async () => {
    const int4 = await tinyExportedModel("int4", {}, "float16");
    const b = new OnnxBackend({ threads: 1 });
    try {
      const model = await b.load(int4.dir);
      expect(model.kv.float16).toBe(true);
      const reqs: GenerationRequest[] = [{ prompt: PROMPTS[1], maxNewTokens: 10 }, { prompt: PROMPTS[2], maxNewTokens: 10, temperature: 0.9, seed: 3 }];
      const single: GenerationResult[] = [];
      for (const r of reqs) single.push(await model.generate(r));
      const both = await Promise.all(reqs.map((r) => model.generate(r)));
      both.forEach((r, i) => expect(r.tokens).toEqual(single[i].tokens));
    } finally {
      await b.close();
      await int4.cleanup();
    }
  });
});

describe("generation on an export with external weights (model.onnx_data, as phi-2 is written)", () => {
  it("loads the weights from beside the model and gives the same greedy tokens as the inline export", async () => {
    const external = await tinyExportedModel("fp32", {}, "float32", true);
    const b = new OnnxBackend({ threads: 1 });
    try {
      expect(existsSync(path.join(external.dir, "onnx", "model.onnx_data"))).toBe(true);
      const req: GenerationRequest = { prompt: PROMPTS[1], maxNewTokens: 12 };
      const [inline] = await alone([req]);
      const got = await (await b.load(external.dir)).generate(req);
      expect(got.tokens).toEqual(inline!.tokens);
    } finally {
      await b.close();
      await external.cleanup();
    }
  });
});
