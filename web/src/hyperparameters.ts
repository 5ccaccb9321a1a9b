import { HYPERPARAMETER_SPEC, HYPERPARAMETERS, PARAM_GROUPS, type HyperparameterName, type ParamGroup, type ParamSpec } from "../../src/backends/training/spec.js";
import type { TrainingHyperparameters } from "../../src/backends/types.js";
import { h } from "./dom.js";

// Hyperparameters as the run pages show them: grouped, labelled and ordered by the training spec (the one place that
// declares them), the HF name in the tooltip.

export function fmtValue(v: unknown): string {
  return Array.isArray(v) ? v.join(", ") : String(v);
}

/** The label cell: readable name, HF name and help in the tooltip. */
export function paramLabel(name: HyperparameterName, tag: "dt" | "th" = "dt"): HTMLElement {
  const p: ParamSpec = HYPERPARAMETER_SPEC[name];
  // tunegraph's own fields (engine) have no HF name
  return h(tag, { title: p.hf ? `${p.hf}: ${p.help}` : p.help, "data-hf": p.hf, ...(tag === "th" ? { scope: "row" } : {}) }, p.label);
}

/** One definition list per group (LoRA, optimizer, schedule, data, ...). */
export function hyperparameterGroups(hp: TrainingHyperparameters): HTMLElement {
  const groups = Object.entries(PARAM_GROUPS) as [ParamGroup, string][];
  return h("div", { class: "hyper-groups" }, ...groups.map(([group, title]) =>
    h("section", { class: "hyper-group", "data-group": group }, h("h3", {}, title),
      h("dl", { class: "hyper" }, ...HYPERPARAMETERS.filter(([, p]) => p.group === group).flatMap(([name]) =>
        [paramLabel(name), h("dd", { "data-param": name }, fmtValue(hp[name]))])))));
}

/** The hyperparameters whose values differ between runs, in spec order. */
export function differingParams(runs: readonly TrainingHyperparameters[]): HyperparameterName[] {
  return HYPERPARAMETERS.map(([name]) => name).filter((name) => new Set(runs.map((hp) => fmtValue(hp[name]))).size > 1);
}
