import { Option, type Command } from "commander";
import { OnnxBackend } from "../../backends/onnx/backend.js";
import type { ChatMessage, GenerationRequest } from "../../backends/types.js";
import { UserError } from "../../model/errors.js";
import { action, num } from "../action.js";

interface GenerateFlags {
  model: string;
  adapter?: string;
  prompt?: string;
  message: string[];
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  repetitionPenalty: number;
  seed?: number;
  stop: string[];
  truncate?: boolean;
  stream?: boolean;
  json?: boolean;
  device: "cpu" | "cuda" | "auto";
  threads: number;
}

const ROLES = ["system", "user", "assistant"];
const collect = (v: string, all: string[]) => [...all, v];

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("generate text with an exported model (onnx/model.onnx) on onnxruntime")
    .requiredOption("--model <dir>", "an exported model directory (tunegraph export)")
    .option("--adapter <dir>", "a PEFT LoRA adapter to decode with, unmerged (--model must be an adapter-ready export: tunegraph export --lora-targets)")
    .option("--prompt <text>", "raw prompt, used exactly as given")
    .option("--message <role:text>", "a chat message (system, user or assistant), rendered with the chat template; repeatable", collect, [])
    .option("--max-new-tokens <n>", "tokens to generate at most", num("--max-new-tokens"), 64)
    .option("--temperature <t>", "0 = greedy", num("--temperature"), 0)
    .option("--top-p <p>", "nucleus sampling mass, in (0, 1]", num("--top-p"), 1)
    .option("--top-k <k>", "sample among the k most likely tokens; 0 = off", num("--top-k"), 0)
    .option("--repetition-penalty <x>", "1 = off", num("--repetition-penalty"), 1)
    .option("--seed <n>", "sampling seed (same seed, same text)", num("--seed"))
    .option("--stop <text>", "stop sequence, not included in the output; repeatable", collect, [])
    .option("--truncate", "keep the end of a prompt longer than the context instead of failing")
    .option("--stream", "print text as it is generated (with --json: one JSON line per chunk)")
    .option("--json", "print {text, tokens, finishReason, promptTokens, completionTokens, timeToFirstTokenMs, tokensPerSecond}")
    .addOption(new Option("--device <device>", "execution provider").choices(["cpu", "cuda", "auto"]).default("cpu"))
    .option("--threads <n>", "ORT intra-op threads; 0 = one per core", num("--threads"), 0)
    .action(action(async (flags: GenerateFlags) => {
      const request: GenerationRequest = {
        maxNewTokens: flags.maxNewTokens,
        temperature: flags.temperature,
        topP: flags.topP,
        topK: flags.topK,
        repetitionPenalty: flags.repetitionPenalty,
        seed: flags.seed,
        stop: flags.stop,
        truncate: flags.truncate ?? false,
        adapter: flags.adapter,
      };
      if (flags.prompt !== undefined && flags.message.length > 0) throw new UserError("give --prompt or --message, not both");
      if (flags.message.length > 0) request.messages = flags.message.map(parseMessage);
      else if (flags.prompt !== undefined) request.prompt = flags.prompt;
      else throw new UserError("give --prompt TEXT or at least one --message ROLE:TEXT");

      const backend = new OnnxBackend({ device: flags.device, threads: flags.threads, cacheSize: 1, maxBatchSize: 1, maxNewTokens: Number.MAX_SAFE_INTEGER });
      const model = await backend.load(flags.model);
      const onText = flags.stream
        ? (chunk: string) => process.stdout.write(flags.json ? `${JSON.stringify({ chunk })}\n` : chunk)
        : undefined;
      try {
        const result = await model.generate(request, onText);
        if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else process.stdout.write(flags.stream ? "\n" : `${result.text}\n`);
      } finally {
        await backend.close();
      }
    }));
}

function parseMessage(flag: string): ChatMessage {
  const colon = flag.indexOf(":");
  const role = colon < 0 ? "" : flag.slice(0, colon).trim();
  if (!ROLES.includes(role)) throw new UserError(`--message "${flag}": expected ROLE:TEXT with ROLE one of ${ROLES.join(", ")}`);
  return { role: role as ChatMessage["role"], content: flag.slice(colon + 1) };
}
