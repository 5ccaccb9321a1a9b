import { UserError } from "./errors.js";

/** One message of a chat request (serving side; training turns are `data/types.ts` Turn). */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/**
 * The guanaco chat template (timdettmers/openassistant-guanaco, the phi-2 QLoRA reference job):
 * `### Human: {prompter text}### Assistant: {assistant text}`, turns concatenated, `<|endoftext|>` after the last
 * assistant turn. Training and serving render through this one file so the two never drift apart.
 */
export const HUMAN_MARKER = "### Human:";
export const ASSISTANT_MARKER = "### Assistant:";
export const EOS_TEXT = "<|endoftext|>";

export interface TemplateTurn {
  role: "prompter" | "assistant";
  text: string;
}

export interface TemplateSegment {
  text: string;
  /** True for assistant text and the closing EOS: what `completionOnly` trains on. */
  trainable: boolean;
}

/**
 * A conversation as training text. Segments concatenate to `text`; the marker `### Assistant:` belongs to the
 * untrained prompt side and the space after it starts the trained reply (BPE tokenizes it with the reply's first word).
 * `system` (chat rows' system messages) goes first, as in `renderPrompt`.
 */
export function renderTraining(turns: TemplateTurn[], system?: string): { text: string; segments: TemplateSegment[] } {
  const segments: TemplateSegment[] = [];
  // as renderPrompt puts system messages: their text, then a newline, before the first turn (never trained on)
  let prompt = system ? `${system.trim()}\n` : "";
  for (const turn of turns) {
    if (turn.role === "prompter") {
      prompt += `${HUMAN_MARKER} ${turn.text.trim()}`;
    } else {
      segments.push({ text: prompt + ASSISTANT_MARKER, trainable: false });
      segments.push({ text: ` ${turn.text.trim()}`, trainable: true });
      prompt = "";
    }
  }
  if (prompt !== "") segments.push({ text: prompt, trainable: false });
  if (turns.at(-1)?.role === "assistant") segments.push({ text: EOS_TEXT, trainable: true });
  return { text: segments.map((s) => s.text).join(""), segments };
}

/**
 * A chat as a generation prompt: system text first (then a newline), then the turns, ending with `### Assistant:`.
 * No space after that marker: in training the space was tokenized together with the reply's first word, so the model
 * generates it.
 */
export function renderPrompt(messages: ChatMessage[]): string {
  const system = messages.filter((m) => m.role === "system").map((m) => m.content.trim());
  const turns = messages.filter((m) => m.role !== "system");
  if (turns.length === 0 || turns[turns.length - 1].role !== "user") {
    throw new UserError("messages: the last message (other than system ones) must be a user message");
  }
  let text = system.length > 0 ? `${system.join("\n")}\n` : "";
  for (const m of turns) {
    text += `${m.role === "user" ? HUMAN_MARKER : ASSISTANT_MARKER} ${m.content.trim()}`;
  }
  return text + ASSISTANT_MARKER;
}
