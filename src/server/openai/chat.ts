import type { ChatMessage } from "../../backends/types.js";
import { badParam } from "./errors.js";
import { complete, type CompletionShape } from "./completion.js";
import type { Route } from "./route.js";
import { optNumber, readBody } from "./params.js";
import { readSampling, SAMPLING_NAMES, SAMPLING_PARAMS } from "./sampling.js";

const KNOWN = [...SAMPLING_PARAMS, "messages", "max_completion_tokens", "response_format", "tools", "tool_choice", "parallel_tool_calls", "top_logprobs", "store", "metadata"];
// `developer` is what newer clients send for the system prompt
const ROLES: Record<string, ChatMessage["role"]> = { system: "system", developer: "system", user: "user", assistant: "assistant" };

const shape: CompletionShape = {
  idPrefix: "chatcmpl-",
  object: "chat.completion",
  chunkObject: "chat.completion.chunk",
  choice: (content, finish_reason) => ({ index: 0, message: { role: "assistant", content, refusal: null }, logprobs: null, finish_reason }),
  delta: (content, first) => ({ index: 0, delta: first ? { role: "assistant", content } : { content }, logprobs: null, finish_reason: null }),
  last: (finish_reason) => ({ index: 0, delta: {}, logprobs: null, finish_reason }),
};

/** POST /v1/chat/completions: messages rendered with the model's chat template, stored as a Generation. */
export const chatCompletions: Route = async ({ services, log }, req, res) => {
  const body = readBody(req.body, KNOWN);
  const maxTokens = optNumber(body, "max_completion_tokens", 1, Number.MAX_SAFE_INTEGER, { int: true }) ?? optNumber(body, "max_tokens", 1, Number.MAX_SAFE_INTEGER, { int: true });
  const maxName = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null ? "max_completion_tokens" : "max_tokens";
  const sampling = readSampling(body, maxTokens);
  for (const name of ["tools", "tool_choice", "top_logprobs"]) {
    if (body[name] !== undefined && body[name] !== null && !(Array.isArray(body[name]) && (body[name] as unknown[]).length === 0)) {
      throw badParam(name, `${name} is not supported: tunegraph's models answer in text`);
    }
  }
  const format = body.response_format as { type?: unknown } | null | undefined;
  if (format !== undefined && format !== null && format?.type !== "text") throw badParam("response_format", 'response_format must be { "type": "text" }: structured output is not supported');
  const messages = readMessages(body.messages);
  await complete(services, log, res, sampling, { messages }, shape, { ...SAMPLING_NAMES, maxNewTokens: maxName });
};

function readMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw badParam("messages", "messages must be a non-empty list of { role, content }", "missing_required_parameter");
  return v.map((m: unknown, i) => {
    const where = `messages[${i}]`;
    if (typeof m !== "object" || m === null) throw badParam(where, `${where} must be an object { role, content }`);
    const { role, content } = m as { role?: unknown; content?: unknown };
    const ours = typeof role === "string" ? ROLES[role] : undefined;
    if (!ours) throw badParam(`${where}.role`, `${where}.role must be one of system, developer, user, assistant, got ${JSON.stringify(role)}`);
    return { role: ours, content: textOf(content, `${where}.content`) };
  });
}

/** A string, or a list of text parts (`[{ "type": "text", "text": ... }]`) joined. */
function textOf(content: unknown, where: string): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content) && content.every((p) => p?.type === "text" && typeof p.text === "string")) {
    return content.map((p: { text: string }) => p.text).join("\n");
  }
  throw badParam(where, `${where} must be a string or a list of { "type": "text", "text": ... } parts (no images or audio)`);
}
