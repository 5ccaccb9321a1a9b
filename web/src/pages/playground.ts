import { request, subscribe, type ApiError } from "../api.js";
import { clear, errorBox, fmtNumber, h } from "../dom.js";
import { GENERATE, SERVED_MODELS, type GenerateData, type ServedData } from "../operations.js";
import type { Page } from "../main.js";

interface Turn {
  role: "user" | "assistant";
  content: string;
}

/** Multi-turn chat with a merged or base model; tokens arrive through `generationStream`, Stop cancels on the server. */
export const mountPlayground: Page = (root, params) => {
  const model = h("select", { name: "model", "aria-label": "model" });
  const system = h("textarea", { name: "system", rows: 3, placeholder: "System message (optional)" });
  const maxNewTokens = h("input", { type: "number", name: "maxNewTokens", min: 1, step: 1, value: 128 });
  const temperature = h("input", { type: "number", name: "temperature", min: 0, step: 0.05, value: 0.7 });
  const topP = h("input", { type: "number", name: "topP", min: 0.01, max: 1, step: 0.05, value: 0.9 });
  const log = h("div", { class: "chat-log", "aria-live": "polite" });
  const prompt = h("textarea", { name: "prompt", rows: 2, placeholder: "Say something… (Enter sends, Shift+Enter: new line)", required: true });
  const send = h("button", { type: "submit" }, "Send");
  const stopButton = h("button", { type: "button", class: "danger", disabled: true }, "Stop");
  const reset = h("button", { type: "button", class: "secondary" }, "Clear chat");
  const problem = h("div");
  const history: Turn[] = [];
  let stop: (() => void) | null = null;
  let alive = true;

  const controls = h("aside", { class: "controls" },
    h("label", {}, "Model", model),
    h("label", {}, "System message", system),
    h("div", { class: "triple" },
      h("label", {}, "Max new tokens", maxNewTokens),
      h("label", {}, "Temperature", temperature),
      h("label", {}, "Top-p", topP)),
    reset,
  );
  const composer = h("form", { class: "composer" }, prompt, h("div", { class: "inline" }, send, stopButton));
  root.append(h("section", { class: "page playground" }, h("h1", {}, "Playground"),
    h("div", { class: "play" }, controls, h("div", { class: "chat" }, log, problem, composer))));

  const bubble = (turn: Turn) => {
    const text = h("div", { class: "text" }, turn.content);
    const el = h("div", { class: `msg ${turn.role}` }, h("div", { class: "who" }, turn.role === "user" ? "You" : "Model"), text);
    log.append(el);
    return { el, text };
  };

  const finish = () => {
    stop = null;
    send.disabled = false;
    stopButton.disabled = true;
    prompt.focus();
  };

  const ask = () => {
    clear(problem);
    const content = prompt.value.trim();
    if (!content || stop) return;
    if (!model.value) {
      problem.append(errorBox("Pick a model first (merge an adapter, or register a base model)."));
      return;
    }
    const numbers = { maxNewTokens: Number(maxNewTokens.value), temperature: Number(temperature.value), topP: Number(topP.value) };
    if (!Number.isInteger(numbers.maxNewTokens) || numbers.maxNewTokens < 1) return problem.append(errorBox("Max new tokens must be an integer >= 1."));
    if (!(numbers.temperature >= 0)) return problem.append(errorBox("Temperature must be a number >= 0."));
    if (!(numbers.topP > 0 && numbers.topP <= 1)) return problem.append(errorBox("Top-p must be in (0, 1]."));

    const user: Turn = { role: "user", content };
    history.push(user);
    bubble(user);
    prompt.value = "";
    const reply: Turn = { role: "assistant", content: "" };
    const view = bubble(reply);
    view.el.classList.add("streaming");
    const stats = h("div", { class: "stats" }, "waiting for the first token…");
    view.el.append(stats);
    const messages = [...(system.value.trim() ? [{ role: "system", content: system.value.trim() }] : []), ...history];
    const t0 = performance.now();
    let firstMs: number | null = null;
    let chunks = 0;

    send.disabled = true;
    stopButton.disabled = false;
    let open = true; // this reply is still the one streaming (not ended, not stopped)
    const end = (note: string) => {
      if (!open) return;
      open = false;
      view.el.classList.remove("streaming");
      if (reply.content) history.push(reply);
      stats.textContent = note;
      finish();
    };
    const cancel = subscribe<GenerateData>(GENERATE, { input: { modelId: model.value, messages, ...numbers } }, {
      next: ({ generationStream: chunk }) => {
        if (chunk.text) {
          if (firstMs === null) firstMs = performance.now() - t0;
          chunks++;
          view.el.dataset.chunks = String(chunks);
          reply.content += chunk.text;
          view.text.textContent = reply.content;
          stats.textContent = `time to first token ${Math.round(firstMs)} ms · ${chunks} chunks`;
          log.scrollTop = log.scrollHeight;
        }
        const g = chunk.generation;
        if (chunk.done && g) {
          reply.content = g.text;
          view.text.textContent = g.text;
          view.el.dataset.done = "true";
          end(`time to first token ${Math.round(g.timeToFirstTokenMs)} ms · ${fmtNumber(g.tokensPerSecond, 3)} tokens/s · ` +
            `${g.completionTokens} tokens · ${g.finishReason}`);
        }
      },
      error: (err: ApiError) => {
        end("failed");
        view.el.append(errorBox(err.message));
      },
      complete: () => end("ended without a final chunk"),
    });
    stop = () => {
      end(`stopped · ${stats.textContent}`);
      cancel();
    };
  };

  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    ask();
  });
  prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      ask();
    }
  });
  stopButton.addEventListener("click", () => stop?.());
  reset.addEventListener("click", () => {
    history.length = 0;
    clear(log);
  });

  request<ServedData>(SERVED_MODELS).then(
    (data) => {
      if (!alive) return;
      const ready = data.mergedModels.filter((m) => m.status === "READY");
      clear(model,
        ready.length > 0 && h("optgroup", { label: "Merged models" }, ...ready.map((m) => h("option", { value: m.id }, `${m.adapter.name} · ${m.precision}`))),
        data.models.length > 0 && h("optgroup", { label: "Base models" }, ...data.models.map((m) => h("option", { value: m.id }, m.name))),
      );
      const wanted = params.get("model");
      if (wanted && [...model.options].some((o) => o.value === wanted)) model.value = wanted;
      if (model.options.length === 0) problem.append(errorBox("No model to chat with yet: register a base model or merge an adapter."));
    },
    (err: ApiError) => alive && problem.append(errorBox(`Could not load the models: ${err.message}`)),
  );
  return () => {
    alive = false;
    stop?.();
  };
};
