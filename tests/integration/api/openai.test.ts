import { request } from "node:http";
import { readdir } from "node:fs/promises";
import path from "node:path";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBackends } from "../../../src/backends/registry.js";
import { startTestApi, type TestApi, until } from "./harness.js";

// The OpenAI-compatible /v1 face, driven by the official `openai` client against a real server (real database, real
// ONNX Runtime, a real training worker) on the tiny random demo model: shapes, token counts and stored rows are
// asserted, not the (random) text.

const KEY = "sk-test-key";
const CHAT_ROWS = [
  ["What is a LoRA adapter?", "A small low-rank update trained on top of frozen weights."],
  ["Name a colour.", "Blue."],
  ["How many legs has a spider?", "Eight."],
  ["Say hello.", "Hello!"],
  ["What is 2 + 2?", "4."],
  ["Translate 'cat' to German.", "Katze."],
].map(([user, assistant]) => ({
  messages: [
    { role: "system", content: "You are concise." },
    { role: "user", content: user },
    { role: "assistant", content: assistant },
  ],
}));
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";


describe("the /v1 API with the openai client", () => {
  let api: TestApi;
  let client: OpenAI;
  const auth = { authorization: `Bearer ${KEY}` };

  beforeAll(async () => {
    api = await startTestApi({ backends: createBackends(), worker: true, demo: true, env: { TUNEGRAPH_API_KEY: KEY, TUNEGRAPH_FILE_LIMIT: "20000", TUNEGRAPH_MAX_ACTIVE_RUNS: "1" } });
    client = new OpenAI({ apiKey: KEY, baseURL: api.url.replace(/\/graphql$/, "/v1"), maxRetries: 0 });
  });
  afterAll(async () => {
    await api?.close();
  });

  it("lists and retrieves the base models by name", async () => {
    const models = await client.models.list();
    expect(models.data).toEqual([{ id: "demo-tiny", object: "model", created: expect.any(Number), owned_by: "tunegraph", parent: null }]);
    expect((await client.models.retrieve("demo-tiny")).id).toBe("demo-tiny");
    await expect(client.models.retrieve("gpt-4o")).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("answers with the client's own error classes: wrong key, unknown model, bad parameters, limits", async () => {
    const stranger = new OpenAI({ apiKey: "wrong", baseURL: client.baseURL, maxRetries: 0 });
    const e401 = await stranger.models.list().catch((e: unknown) => e);
    expect(e401).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(e401).toMatchObject({ status: 401, code: "invalid_api_key", type: "authentication_error" });

    const messages = [{ role: "user" as const, content: "Hi" }];
    const e404 = await client.chat.completions.create({ model: "no-such-model", messages }).catch((e: unknown) => e);
    expect(e404).toBeInstanceOf(OpenAI.NotFoundError);
    expect(e404).toMatchObject({ param: "model", code: "model_not_found" });

    const bad = async (body: object, param: string, words: RegExp) => {
      const e = await client.chat.completions.create({ model: "demo-tiny", messages, ...body } as never).catch((err: unknown) => err);
      expect(e, param).toBeInstanceOf(OpenAI.BadRequestError);
      expect((e as InstanceType<typeof OpenAI.BadRequestError>).param, param).toBe(param);
      expect((e as Error).message, param).toMatch(words);
    };
    await bad({ temperature: 3 }, "temperature", /temperature must be a number in \[0, 2\]/);
    await bad({ n: 2 }, "n", /n must be 1/);
    await bad({ max_tokens: 1_000_000 }, "max_tokens", /max_tokens must be at most 1024/);
    await bad({ messages: [{ role: "tool", content: "x" }] }, "messages[0].role", /messages\[0\]\.role must be one of/);
    await bad({ messages: [{ role: "assistant", content: "x" }] }, "messages", /last message .* must be a user message/);
    await bad({ frequency_penalty: 0.5 }, "frequency_penalty", /not supported/);
    await bad({ best_of: 2 }, "best_of", /Unrecognized request argument supplied: best_of/);
    await bad({ stop: ["a", "b", "c", "d", "e"] }, "stop", /up to 4/);
    await bad({ messages: [{ role: "user", content: "a\u0000b" }] }, "messages[0].content", /contains a NUL character/);
    // longer than the tiny model's 512-token context: refused naming the prompt, or its end kept with `truncate`
    const long = [{ role: "user", content: "word ".repeat(600) }];
    await bad({ messages: long }, "prompt", /prompt is \d+ tokens, the model's context is 512: shorten it or set truncate/);
    const kept = await client.chat.completions.create({ model: "demo-tiny", messages: long, max_tokens: 2, truncate: true } as never);
    expect(kept.usage!.prompt_tokens).toBe(510);

    // a body over TUNEGRAPH_BODY_LIMIT (1 MB by default) is a 413 in OpenAI's shape
    const big = await fetch(`${client.baseURL}/chat/completions`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-tiny", messages: [{ role: "user", content: "x".repeat(1_100_000) }] }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: { message: expect.stringMatching(/TUNEGRAPH_BODY_LIMIT/), type: "invalid_request_error", param: null, code: "request_too_large" } });
    const unknown = await fetch(`${client.baseURL}/embeddings`, { method: "POST", headers: auth });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe("Invalid URL (POST /v1/embeddings)");
  });

  it("chat completions: a stored Generation, usage, finish_reason; streamed with usage", async () => {
    const res = await client.chat.completions.create({ model: "demo-tiny", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "What is QLoRA?" }], max_tokens: 5, temperature: 0 });
    expect(res).toMatchObject({ object: "chat.completion", model: "demo-tiny", created: expect.any(Number) });
    expect(res.id).toMatch(/^chatcmpl-[0-9a-f-]{36}$/);
    const [choice] = res.choices;
    expect(choice!.message.role).toBe("assistant");
    expect(["stop", "length"]).toContain(choice!.finish_reason);
    expect(res.usage!.completion_tokens).toBeGreaterThan(0);
    expect(res.usage!.completion_tokens).toBeLessThanOrEqual(5);
    if (choice!.finish_reason === "length") expect(res.usage!.completion_tokens).toBe(5);
    expect(res.usage!.total_tokens).toBe(res.usage!.prompt_tokens + res.usage!.completion_tokens);

    const stored = await api.gql<{ generations: { id: string; text: string; completionTokens: number; promptTokens: number; model: { __typename: string } }[] }>(
      "{ generations { id text completionTokens promptTokens model { __typename } } }",
      {},
      auth,
    );
    expect(stored.data!.generations[0]).toMatchObject({
      id: res.id.slice("chatcmpl-".length),
      text: choice!.message.content,
      completionTokens: res.usage!.completion_tokens,
      promptTokens: res.usage!.prompt_tokens,
      model: { __typename: "BaseModel" },
    });

    const stream = await client.chat.completions.create({ model: "demo-tiny", messages: [{ role: "user", content: "What is QLoRA?" }], max_tokens: 5, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0]!.id)).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const withChoices = chunks.filter((c) => c.choices.length > 0);
    expect(withChoices.at(-1)!.choices[0]!.finish_reason).toMatch(/^(stop|length)$/);
    expect(withChoices.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage!.completion_tokens).toBe(res.usage!.completion_tokens); // greedy: the same reply
    expect(usage.usage!.prompt_tokens).toBeLessThan(res.usage!.prompt_tokens); // no system message this time
    const text = withChoices.map((c) => c.choices[0]!.delta.content ?? "").join("");
    const again = await api.gql<{ generations: { id: string; text: string }[] }>("{ generations(last: 1) { id text } }", {}, auth);
    expect(again.data!.generations[0]).toEqual({ id: chunks[0]!.id.slice("chatcmpl-".length), text });
  });

  it("a client that goes away mid-stream cancels its generation (stored as cancelled)", async () => {
    const abort = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "demo-tiny", messages: [{ role: "user", content: "Tell me a long story." }], max_tokens: 500, stream: true },
      { signal: abort.signal },
    );
    let chunks = 0;
    // the client ends the iteration quietly once its own signal aborts (after the chunks it had already read)
    for await (const _ of stream) {
      chunks++;
      abort.abort();
    }
    expect(chunks).toBeGreaterThanOrEqual(1);
    const row = await until("the cancelled generation", async () => {
      const g = await api.gql<{ generations: { id: string; finishReason: string; completionTokens: number }[] }>("{ generations(last: 1) { id finishReason completionTokens } }", {}, auth);
      return g.data!.generations[0]?.finishReason === "cancelled" ? g.data!.generations[0] : null;
    }, 20_000);
    expect(row.completionTokens).toBeLessThan(500);
  });

  it("text completions: the prompt as given, OpenAI's default of 16 tokens", async () => {
    const res = await client.completions.create({ model: "demo-tiny", prompt: "Hello", temperature: 0 });
    expect(res).toMatchObject({ object: "text_completion", model: "demo-tiny", choices: [{ index: 0, text: expect.any(String), logprobs: null }] });
    expect(res.id).toMatch(/^cmpl-/);
    expect(res.usage!.completion_tokens).toBeLessThanOrEqual(16);
    if (res.choices[0]!.finish_reason === "length") expect(res.usage!.completion_tokens).toBe(16);
    const stream = await client.completions.create({ model: "demo-tiny", prompt: "Hello", max_tokens: 3, temperature: 0, stream: true });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.text ?? "";
    expect(res.choices[0]!.text.startsWith(text)).toBe(true);
  });

  it("files: chat-format uploads become datasets; bad files, purposes and sizes are refused naming them", async () => {
    const file = await client.files.create({ file: await toFile(Buffer.from(jsonl(CHAT_ROWS)), "chat.jsonl"), purpose: "fine-tune" });
    expect(file).toMatchObject({ object: "file", filename: "chat.jsonl", purpose: "fine-tune", bytes: Buffer.byteLength(jsonl(CHAT_ROWS)), status: "processed" });
    expect(file.id).toMatch(/^file-/);
    expect((file as unknown as { tunegraph: object }).tunegraph).toMatchObject({ format: "chat-messages", conversations: 6, skipped: {} });
    expect(await client.files.retrieve(file.id)).toEqual(file);
    const listed = await client.files.list();
    expect(listed.data.map((f) => f.id)).toContain(file.id);
    expect(listed.data.map((f) => f.filename)).toContain("oasst-demo.jsonl"); // every dataset is a file
    expect(await (await client.files.content(file.id)).text()).toBe(jsonl(CHAT_ROWS));

    const broken = await client.files.create({ file: await toFile(Buffer.from(`${JSON.stringify(CHAT_ROWS[0])}\n{"messages": [\n`), "broken.jsonl"), purpose: "fine-tune" }).catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(OpenAI.BadRequestError);
    expect((broken as Error).message).toMatch(/broken\.jsonl line 2: malformed JSON/);
    expect((broken as Error).message).not.toMatch(api.dataDir);
    const purpose = await client.files.create({ file: await toFile(Buffer.from(jsonl(CHAT_ROWS)), "x.jsonl"), purpose: "assistants" }).catch((e: unknown) => e);
    expect(purpose).toMatchObject({ status: 400, param: "purpose" });
    const large = await client.files.create({ file: await toFile(Buffer.alloc(30_000, 32), "large.jsonl"), purpose: "fine-tune" }).catch((e: unknown) => e);
    expect(large).toMatchObject({ status: 413, param: "file" });
    expect((large as Error).message).toMatch(/TUNEGRAPH_FILE_LIMIT/);
    // nothing of the refused uploads stays
    expect((await client.files.list()).data).toHaveLength(listed.data.length);

    const extra = await client.files.create({ file: await toFile(Buffer.from(jsonl(CHAT_ROWS)), "extra.jsonl"), purpose: "fine-tune" });
    expect(await client.files.delete(extra.id)).toEqual({ id: extra.id, object: "file", deleted: true });
    await expect(client.files.retrieve(extra.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    // a client that goes away halfway through an upload leaves no file and no dataset behind
    const stored = async () => (await readdir(path.join(api.dataDir, "files"))).sort();
    const before = await stored();
    expect(before).toHaveLength(1);
    const boundary = "tgboundary";
    const req = request(`${client.baseURL}/files`, { method: "POST", headers: { ...auth, "content-type": `multipart/form-data; boundary=${boundary}` } });
    req.on("error", () => undefined);
    req.write(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="half.jsonl"\r\ncontent-type: application/octet-stream\r\n\r\n`);
    req.write(jsonl(CHAT_ROWS));
    await until("the partial upload on disk", async () => ((await stored()).length > before.length ? true : null), 10_000);
    req.destroy();
    await until("the partial upload removed", async () => ((await stored()).join() === before.join() ? true : null), 10_000);
    expect((await client.files.list()).data).toHaveLength(listed.data.length);
  });

  it("a fine-tuning job on the demo model: events to succeeded, checkpoints, then chat with ft:demo-tiny:<suffix>", async () => {
    const file = await client.files.create({ file: await toFile(Buffer.from(jsonl(CHAT_ROWS)), "train.jsonl"), purpose: "fine-tune" });
    const badParams = async (body: object, status: number, param: string) => {
      const e = await client.fineTuning.jobs.create({ model: "demo-tiny", training_file: file.id, ...body } as never).catch((err: unknown) => err);
      expect(e, param).toMatchObject({ status, param });
    };
    await badParams({ hyperparameters: { n_epochs: -1 } }, 400, "hyperparameters.n_epochs");
    await badParams({ tunegraph: { hyperparameters: { r: 0 } } }, 400, "tunegraph.hyperparameters.r");
    await badParams({ training_file: "file-00000000-0000-0000-0000-000000000000" }, 404, "training_file");
    await badParams({ suffix: "no:colons" }, 400, "suffix");

    const created = await client.fineTuning.jobs.create({
      model: "demo-tiny",
      training_file: file.id,
      validation_file: file.id,
      suffix: "concise",
      seed: 7,
      hyperparameters: { batch_size: 2, learning_rate_multiplier: 5 },
      // tunegraph's other trainer options, in the training spec's names
      tunegraph: { hyperparameters: { maxSteps: 4, maxSeqLength: 48, loggingSteps: 1, saveSteps: 2, optim: "adamw" } },
    } as never);
    expect(created).toMatchObject({
      object: "fine_tuning.job",
      model: "demo-tiny",
      status: "queued",
      training_file: file.id,
      validation_file: file.id,
      fine_tuned_model: null,
      seed: 7,
      hyperparameters: { n_epochs: "auto", batch_size: 2, learning_rate_multiplier: 5 },
    });
    expect(created.id).toMatch(/^ftjob-/);
    await badParams({ suffix: "concise" }, 409, "suffix");

    const done = await until("the job", async () => {
      const j = await client.fineTuning.jobs.retrieve(created.id);
      return ["succeeded", "failed", "cancelled"].includes(j.status) ? j : null;
    }, 180_000);
    expect(done).toMatchObject({ status: "succeeded", fine_tuned_model: "ft:demo-tiny:concise", error: null, finished_at: expect.any(Number) });

    // the same run, seen through GraphQL
    const run = await api.gql<{ trainingRun: object }>(
      `{ trainingRun(id: "${(done as unknown as { tunegraph: { run_id: string } }).tunegraph.run_id}") { status suffix fineTunedModel currentStep evalDataset { filename format } } }`,
      {},
      auth,
    );
    expect(run.data!.trainingRun).toEqual({ status: "SUCCEEDED", suffix: "concise", fineTunedModel: "ft:demo-tiny:concise", currentStep: 4, evalDataset: { filename: "train.jsonl", format: "chat-messages" } });

    const events = [];
    for await (const e of client.fineTuning.jobs.listEvents(created.id, { limit: 3 })) events.push(e);
    expect(events[0]).toMatchObject({ type: "message", message: "The job has successfully completed" });
    const stepOf = (e: { data?: unknown }) => (e.data as { step: number }).step;
    const metrics = events.filter((e) => e.type === "metrics" && "train_loss" in (e.data as object)).reverse();
    expect(metrics.map(stepOf)).toEqual([1, 2, 3, 4]);
    for (const m of metrics) expect(m.data).toMatchObject({ train_loss: expect.any(Number), total_steps: 4 });
    // the validation file is evaluated every saveSteps (evalSteps' default) and at the end
    const validation = events.filter((e) => e.type === "metrics" && "valid_loss" in (e.data as object)).reverse();
    expect(validation.map(stepOf)).toEqual([2, 4]);
    for (const v of validation) expect(v.data).toMatchObject({ valid_loss: expect.any(Number), full_valid_loss: expect.any(Number), total_steps: 4 });
    expect(events.map((e) => e.message)).toEqual(expect.arrayContaining(["New fine-tuned model created: ft:demo-tiny:concise", expect.stringMatching(/^Step 4\/4: validation loss=\d/)]));
    expect(events.at(-1)!.message).toBe(`Created fine-tuning job: ${created.id}`);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    const checkpoints = await client.fineTuning.jobs.checkpoints.list(created.id);
    expect(checkpoints.data.map((c) => c.step_number)).toEqual(expect.arrayContaining([2]));
    expect(checkpoints.data[0]).toMatchObject({ object: "fine_tuning.job.checkpoint", fine_tuning_job_id: created.id, metrics: { train_loss: expect.any(Number), valid_loss: expect.any(Number) } });

    await expect(client.fineTuning.jobs.cancel(created.id)).rejects.toBeInstanceOf(OpenAI.ConflictError);
    await expect(client.files.delete(file.id)).rejects.toBeInstanceOf(OpenAI.ConflictError);

    // served as the base model plus the job's adapter: nothing merged
    const model = "ft:demo-tiny:concise";
    expect((await client.models.list()).data.map((m) => m.id)).toContain(model);
    expect(await client.models.retrieve(model)).toMatchObject({ id: model, parent: "demo-tiny", owned_by: "user" });
    // two requests at once share decode steps and answer alike
    const ask = () => client.chat.completions.create({ model, messages: [{ role: "user", content: "Say hello." }], max_tokens: 4, temperature: 0 });
    const [reply, twin] = await Promise.all([ask(), ask()]);
    expect(twin.choices[0]!.message.content).toBe(reply.choices[0]!.message.content);
    expect(reply.model).toBe(model);
    expect(reply.usage!.completion_tokens).toBeGreaterThan(0);
    const stream = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Say hello." }], max_tokens: 4, temperature: 0, stream: true });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    expect(text).toBe(reply.choices[0]!.message.content);
    const stored = await api.gql<{ generations: { model: { __typename: string }; adapter: { id: string } | null }[]; mergedModels: { id: string }[]; trainingRun: { adapter: { id: string } } }>(
      `{ generations(last: 3) { model { __typename } adapter { id } } mergedModels { id } trainingRun(id: "${created.id.replace(/^ftjob-/, "")}") { adapter { id } } }`,
      {},
      auth,
    );
    const adapter = { id: stored.data!.trainingRun.adapter.id };
    expect(stored.data!.generations).toEqual(Array(3).fill({ model: { __typename: "BaseModel" }, adapter }));
    expect(stored.data!.mergedModels).toEqual([]);

    // jobs page with after/limit, newest first
    const second = await client.fineTuning.jobs.create({ model, training_file: file.id, tunegraph: { hyperparameters: { maxSteps: 100000, maxSeqLength: 32 } } } as never);
    // the same limits as GraphQL: one active run here (TUNEGRAPH_MAX_ACTIVE_RUNS), so a third job is a 429
    const limited = await client.fineTuning.jobs.create({ model: "demo-tiny", training_file: file.id }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as Error).message).toMatch(/the limit is 1/);
    const page1 = await client.fineTuning.jobs.list({ limit: 1 });
    expect(page1.data.map((j) => j.id)).toEqual([second.id]);
    expect(page1.has_more).toBe(true);
    const page2 = await client.fineTuning.jobs.list({ limit: 1, after: second.id });
    expect(page2.data.map((j) => j.id)).toEqual([created.id]);
    const cancelled = await client.fineTuning.jobs.cancel(second.id);
    expect(["cancelled", "running", "queued"]).toContain(cancelled.status);
    await until("the cancel", async () => ((await client.fineTuning.jobs.retrieve(second.id)).status === "cancelled" ? true : null), 180_000);
  });
});
