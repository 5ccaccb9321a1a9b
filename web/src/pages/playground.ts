import { adapterPicker } from "../adapter-picker.js";
import { request, subscribe, type ApiError } from "../api.js";
import { append, clear, errorBox, fmtNumber, h } from "../dom.js";
import { renderMarkdown } from "../markdown.js";
import { GENERATE, SERVED_MODELS, type GenerateData, type ServedData } from "../operations.js";
import { readSampling, samplingControls } from "../sampling.js";
import type { Page } from "../main.js";

interface Turn {
  role: "user" | "assistant";
  content: string;
  /** timings line under a reply, or why it ended */
  stats?: string;
  error?: string;
  /** stream chunks received so far (shown as data-chunks on the bubble) */
  chunks?: number;
  /** the adapter the server served the reply with (Generation.adapter) */
  adapter?: string;
}

const EXAMPLES = [
  "Explain QLoRA in three sentences.",
  "Write a Python function that reverses a linked list.",
  "What are three tips for writing a clear bug report? Answer as a list.",
];

/**
 * Multi-turn chat with a merged model, or a base model alone or with one of its adapters (served unmerged): replies
 * stream through `generationStream` and render as sanitized Markdown; copy, regenerate and edit-the-last-message work
 * on the history; Stop cancels on the server.
 */
export const mountPlayground: Page = (root, params) => {
  const model = h("select", { name: "model", id: "model" });
  const modelNote = h("div", { class: "model-note", id: "model-note" });
  const adapter = adapterPicker();
  const system = h("textarea", { name: "system", id: "system", rows: 3, placeholder: "You are a helpful assistant." });
  const sampling = samplingControls();
  const log = h("div", { class: "chat-log", role: "log", "aria-live": "polite", "aria-label": "conversation" });
  const prompt = h("textarea", { name: "prompt", rows: 2, "aria-label": "message", placeholder: "Say something… (Enter sends, Shift+Enter: new line)" });
  const send = h("button", { type: "submit" }, "Send");
  const stopButton = h("button", { type: "button", class: "danger", disabled: true }, "Stop");
  const reset = h("button", { type: "button", class: "secondary" }, "Clear chat");
  const problem = h("div");
  const history: Turn[] = [];
  const randomModels = new Set<string>();
  const mergedModels = new Set<string>();
  let stop: (() => void) | null = null;
  let alive = true;

  const controls = h("aside", { class: "controls" },
    h("label", { for: "model" }, "Model"), model, modelNote, adapter.el,
    h("label", { for: "system" }, "System message"), system,
    sampling.el,
    reset,
  );
  const composer = h("form", { class: "composer" }, prompt, h("div", { class: "inline" }, send, stopButton));
  root.append(h("section", { class: "page playground" }, h("h1", {}, "Playground"),
    h("div", { class: "play" }, controls, h("div", { class: "chat" }, log, problem, composer))));

  const showModelNote = () => {
    clear(modelNote, randomModels.has(model.value) && h("p", { class: "notice", role: "note" },
      h("strong", {}, "Random weights. "),
      "This model was initialised at random (the demo, or init-model): its replies are noise, fine for trying the ",
      "pipeline. For real answers register a Phi checkpoint (an HF directory such as microsoft/phi-2) with the ",
      h("code", {}, "registerModel"), " mutation, then fine-tune and merge, or chat with it directly."));
  };

  const copy = async (text: string, button: HTMLButtonElement) => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed"; // no clipboard permission (plain http on another host)
    }
    setTimeout(() => (button.textContent = "Copy"), 1500);
  };

  /** The whole conversation from `history`; a streaming reply then updates its own bubble only. */
  const draw = () => {
    if (history.length === 0) {
      clear(log, h("div", { class: "empty-chat" },
        h("p", { class: "muted" }, "Start with one of these, or write your own below."),
        h("div", { class: "examples" }, ...EXAMPLES.map((text) =>
          h("button", { type: "button", class: "secondary example", onclick: () => ask(text) }, text)))));
      return;
    }
    const lastUser = history.map((t) => t.role).lastIndexOf("user");
    clear(log, ...history.map((turn, i) => bubble(turn, i === history.length - 1, i === lastUser)));
    log.scrollTop = log.scrollHeight;
  };

  const bubble = (turn: Turn, last: boolean, lastUser: boolean) => {
    const text = h("div", { class: "text" });
    const who = turn.role === "user" ? "You" : turn.adapter ? `Model + adapter ${turn.adapter}` : "Model";
    const el = h("div", { class: `msg ${turn.role}` }, h("div", { class: "who" }, who), text);
    if (turn.role === "assistant") text.innerHTML = renderMarkdown(turn.content);
    else text.textContent = turn.content;
    const tools = h("div", { class: "tools" });
    if (turn.role === "assistant" && turn.content) {
      const b = h("button", { type: "button", class: "link", onclick: () => void copy(turn.content, b) }, "Copy");
      tools.append(b);
    }
    if (turn.role === "assistant" && last && !stop) {
      tools.append(h("button", { type: "button", class: "link", onclick: regenerate }, "Regenerate"));
    }
    if (lastUser && !stop) tools.append(h("button", { type: "button", class: "link", onclick: () => edit(el, turn) }, "Edit"));
    append(el, turn.stats && h("div", { class: "stats" }, turn.stats), turn.error && errorBox(turn.error));
    if (tools.childElementCount > 0) el.append(tools);
    if (turn.role === "assistant" && turn.stats && !turn.error) el.dataset.done = "true";
    if (turn.chunks) el.dataset.chunks = String(turn.chunks);
    return el;
  };

  /** Edit the last user message in place; saving drops it (and the reply after it) and asks again. */
  const edit = (el: HTMLElement, turn: Turn) => {
    const box = h("textarea", { rows: 3, "aria-label": "edit message" });
    box.value = turn.content;
    const save = () => {
      const content = box.value.trim();
      if (!content) return;
      history.splice(history.lastIndexOf(turn));
      ask(content);
    };
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        save();
      } else if (e.key === "Escape") draw();
    });
    clear(el, h("div", { class: "who" }, "You (editing)"), box,
      h("div", { class: "inline" }, h("button", { type: "button", onclick: save }, "Save & send"),
        h("button", { type: "button", class: "secondary", onclick: draw }, "Cancel")));
    box.focus();
  };

  const regenerate = () => {
    if (stop || history.at(-1)?.role !== "assistant") return;
    history.pop();
    generate();
  };

  const ask = (content: string) => {
    clear(problem);
    if (!content || stop) return;
    if (!model.value) {
      problem.append(errorBox("Pick a model first (merge an adapter, or register a base model)."));
      return;
    }
    history.push({ role: "user", content });
    prompt.value = "";
    generate();
  };

  /** Stream a reply to the conversation in `history` (which ends with the user's turn). */
  const generate = () => {
    const numbers = readSampling(sampling);
    if (typeof numbers === "string") {
      problem.append(errorBox(numbers));
      draw();
      return;
    }
    const messages = [
      ...(system.value.trim() ? [{ role: "system", content: system.value.trim() }] : []),
      ...history.filter((t) => !t.error || t.content).map(({ role, content }) => ({ role, content })),
    ];
    const reply: Turn = { role: "assistant", content: "" };
    history.push(reply);
    const t0 = performance.now();
    let firstMs: number | null = null;
    let chunks = 0;
    send.disabled = true;
    stopButton.disabled = false;
    stop = () => {}; // busy from here: draw() hides regenerate / edit
    draw();
    const view = log.lastElementChild as HTMLElement;
    const text = view.querySelector(".text") as HTMLElement;
    const stats = h("div", { class: "stats" }, "waiting for the first token…");
    view.classList.add("streaming");
    view.append(stats);
    let frame = 0; // one Markdown render per animation frame, however fast the chunks come
    const paint = () => {
      frame = 0;
      text.innerHTML = renderMarkdown(reply.content);
      log.scrollTop = log.scrollHeight;
    };

    let open = true; // this reply is still the one streaming (not ended, not stopped)
    const end = (note: string, error?: string) => {
      if (!open) return;
      open = false;
      cancelAnimationFrame(frame);
      reply.stats = note;
      if (error) reply.error = error;
      stop = null;
      send.disabled = false;
      stopButton.disabled = true;
      draw();
      if (alive) prompt.focus();
    };
    const adapterId = adapter.adapterId();
    const input = { modelId: model.value, ...(adapterId ? { adapterId } : {}), messages, ...numbers };
    const cancel = subscribe<GenerateData>(GENERATE, { input }, {
      next: ({ generationStream: chunk }) => {
        if (chunk.text) {
          if (firstMs === null) firstMs = performance.now() - t0;
          chunks++;
          reply.chunks = chunks;
          view.dataset.chunks = String(chunks);
          reply.content += chunk.text;
          stats.textContent = `time to first token ${Math.round(firstMs)} ms · ${chunks} chunks`;
          frame ||= requestAnimationFrame(paint);
        }
        const g = chunk.generation;
        if (chunk.done && g) {
          reply.content = g.text;
          if (g.adapter) reply.adapter = g.adapter.name;
          end(`time to first token ${Math.round(g.timeToFirstTokenMs)} ms · ${fmtNumber(g.tokensPerSecond, 3)} tokens/s · ` +
            `${g.completionTokens} tokens · ${g.finishReason}`);
        }
      },
      error: (err: ApiError) => end("failed", err.message),
      complete: () => end("ended without a final chunk"),
    });
    stop = () => {
      end(`stopped · ${stats.textContent}`);
      cancel();
    };
  };

  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    ask(prompt.value.trim());
  });
  prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      ask(prompt.value.trim());
    }
  });
  stopButton.addEventListener("click", () => stop?.());
  reset.addEventListener("click", () => {
    stop?.();
    history.length = 0;
    draw();
  });
  const modelChosen = (wantedAdapter?: string | null) => {
    showModelNote();
    if (model.value) void adapter.show(mergedModels.has(model.value) ? null : model.value, wantedAdapter);
  };
  model.addEventListener("change", () => modelChosen());
  draw();

  request<ServedData>(SERVED_MODELS).then(
    (data) => {
      if (!alive) return;
      const ready = data.mergedModels.filter((m) => m.status === "READY");
      for (const m of data.models) if (m.randomWeights) randomModels.add(m.id);
      for (const m of ready) {
        mergedModels.add(m.id);
        if (m.baseModel.randomWeights) randomModels.add(m.id);
      }
      clear(model,
        ready.length > 0 && h("optgroup", { label: "Merged models" }, ...ready.map((m) => h("option", { value: m.id }, `${m.adapter.name} · ${m.precision}`))),
        data.models.length > 0 && h("optgroup", { label: "Base models" }, ...data.models.map((m) => h("option", { value: m.id }, m.name))),
      );
      const wanted = params.get("model");
      if (wanted && [...model.options].some((o) => o.value === wanted)) model.value = wanted;
      if (model.options.length === 0) problem.append(errorBox("No model to chat with yet: register a base model or merge an adapter."));
      modelChosen(params.get("adapter"));
    },
    (err: ApiError) => alive && problem.append(errorBox(`Could not load the models: ${err.message}`)),
  );
  return () => {
    alive = false;
    stop?.();
  };
};
