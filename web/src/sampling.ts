import { h } from "./dom.js";

/** The playground's sampling inputs: GenerateInput's fields, the everyday three shown, the rest behind "Advanced". */
export interface SamplingControls {
  el: HTMLElement;
  inputs: Record<"maxNewTokens" | "temperature" | "topP" | "topK" | "repetitionPenalty" | "seed", HTMLInputElement>;
  stop: HTMLTextAreaElement;
  truncate: HTMLInputElement;
}

export interface Sampling {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK?: number;
  repetitionPenalty?: number;
  seed?: number;
  stop?: string[];
  truncate?: boolean;
}

const field = (name: string, label: string, attrs: Record<string, string | number>, hint?: string) => {
  const input = h("input", { type: "number", name, id: `s-${name}`, ...attrs, ...(hint ? { "aria-describedby": `s-${name}-hint` } : {}) });
  const el = h("div", { class: "field" }, h("label", { for: `s-${name}` }, label), input,
    hint ? h("small", { class: "hint", id: `s-${name}-hint` }, hint) : null);
  return { input, el };
};

export function samplingControls(): SamplingControls {
  const maxNewTokens = field("maxNewTokens", "Max new tokens", { min: 1, step: 1, value: 128 });
  const temperature = field("temperature", "Temperature", { min: 0, step: 0.05, value: 0.7 }, "0 = greedy");
  const topP = field("topP", "Top-p", { min: 0.01, max: 1, step: 0.05, value: 0.9 });
  const topK = field("topK", "Top-k", { min: 0, step: 1, placeholder: "0 = off" });
  const repetitionPenalty = field("repetitionPenalty", "Repetition penalty", { min: 0.01, step: 0.05, placeholder: "1 = off" });
  const seed = field("seed", "Seed", { min: 0, step: 1, placeholder: "random" }, "same seed, same reply");
  const stop = h("textarea", { name: "stop", id: "s-stop", rows: 2, placeholder: "one per line", "aria-describedby": "s-stop-hint" });
  const truncate = h("input", { type: "checkbox", name: "truncate", id: "s-truncate" });
  const el = h("div", { class: "sampling" },
    h("div", { class: "triple" }, maxNewTokens.el, temperature.el, topP.el),
    h("details", { class: "advanced" }, h("summary", {}, "Advanced"),
      h("div", { class: "triple" }, topK.el, repetitionPenalty.el, seed.el),
      h("div", { class: "field" }, h("label", { for: "s-stop" }, "Stop sequences"), stop,
        h("small", { class: "hint", id: "s-stop-hint" }, "generation ends before any of these")),
      h("label", { class: "check", for: "s-truncate" }, truncate, "Keep the end of a prompt longer than the context")),
  );
  return {
    el,
    inputs: { maxNewTokens: maxNewTokens.input, temperature: temperature.input, topP: topP.input, topK: topK.input, repetitionPenalty: repetitionPenalty.input, seed: seed.input },
    stop,
    truncate,
  };
}

/** The GenerateInput fields the controls hold (empty optional ones left out: the server's defaults), or what is wrong. */
export function readSampling(c: SamplingControls): Sampling | string {
  const num = (i: HTMLInputElement) => (i.value.trim() === "" ? undefined : Number(i.value));
  const s: Sampling = {
    maxNewTokens: Number(c.inputs.maxNewTokens.value),
    temperature: Number(c.inputs.temperature.value),
    topP: Number(c.inputs.topP.value),
  };
  if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 1) return "Max new tokens must be an integer >= 1.";
  if (!(s.temperature >= 0)) return "Temperature must be a number >= 0.";
  if (!(s.topP > 0 && s.topP <= 1)) return "Top-p must be in (0, 1].";
  const topK = num(c.inputs.topK);
  const repetitionPenalty = num(c.inputs.repetitionPenalty);
  const seed = num(c.inputs.seed);
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) return "Top-k must be an integer >= 0 (0 = off).";
  if (repetitionPenalty !== undefined && !(repetitionPenalty > 0)) return "Repetition penalty must be a number > 0.";
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0)) return "Seed must be an integer >= 0.";
  const stop = c.stop.value.split("\n").filter((line) => line !== "");
  return {
    ...s,
    ...(topK !== undefined ? { topK } : {}),
    ...(repetitionPenalty !== undefined ? { repetitionPenalty } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(stop.length > 0 ? { stop } : {}),
    ...(c.truncate.checked ? { truncate: true } : {}),
  };
}
