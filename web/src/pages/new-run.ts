import { request, type ApiError } from "../api.js";
import { clear, errorBox, h } from "../dom.js";
import { FORM_CHOICES, START, type ChoicesData, type StartData } from "../operations.js";
import { fieldErrors, fieldOfError, parseNumber, type Field, type FieldErrors } from "../validation.js";
import { DEFAULT_HYPERPARAMETERS, HYPERPARAMETERS, TARGET_MODULES, type ParamSpec } from "../../../src/backends/training/spec.js";
import type { Page } from "../main.js";

type Kind = { type: "number"; step: string } | { type: "select"; options: readonly string[] } | { type: "checkbox" } | { type: "modules" };
interface Spec {
  field: Field;
  label: string;
  kind: Kind;
  advanced?: boolean;
}

const kindOf = (p: ParamSpec): Kind =>
  p.type === "int" ? { type: "number", step: "1" }
  : p.type === "float" ? { type: "number", step: "any" }
  : p.type === "bool" ? { type: "checkbox" }
  : p.type === "choice" ? { type: "select", options: p.choices }
  : { type: "modules" };

/** One control per entry of the training spec, labelled with its help text. */
const SPECS: Spec[] = HYPERPARAMETERS.map(([field, p]) => ({ field, label: p.help, kind: kindOf(p), advanced: p.advanced }));

/** The startTraining form, filled with the reference job's values, checked field by field as the server checks them. */
export const mountNewRun: Page = (root) => {
  const form = h("form", { class: "page new-run", novalidate: true });
  const formError = h("div");
  const messages = new Map<Field, HTMLElement>();
  const readers = new Map<Field, () => unknown>();
  let alive = true;

  const control = (spec: Spec): HTMLElement => {
    const def = DEFAULT_HYPERPARAMETERS[spec.field];
    const msg = h("small", { class: "field-error", id: `err-${spec.field}`, "aria-live": "polite" });
    messages.set(spec.field, msg);
    const k = spec.kind;
    let input: HTMLElement;
    if (k.type === "modules") {
      const boxes = TARGET_MODULES.map((m) => h("input", { type: "checkbox", name: "targetModules", value: m, checked: (def as string[]).includes(m) }));
      readers.set(spec.field, () => boxes.filter((b) => b.checked).map((b) => b.value));
      input = h("fieldset", { class: "modules", "aria-describedby": msg.id }, h("legend", {}, spec.label),
        ...boxes.map((b) => h("label", { class: "check" }, b, ` ${b.value}`)));
      return h("div", { class: "field wide-field", "data-field": spec.field }, input, msg);
    }
    if (k.type === "checkbox") {
      const box = h("input", { type: "checkbox", name: spec.field, checked: Boolean(def) });
      readers.set(spec.field, () => box.checked);
      return h("div", { class: "field", "data-field": spec.field }, h("label", { class: "check" }, box, ` ${spec.label}`), msg);
    }
    if (k.type === "select") {
      const sel = h("select", { name: spec.field }, ...k.options.map((o) => h("option", { value: o }, o)));
      sel.value = String(def);
      readers.set(spec.field, () => sel.value);
      input = sel;
    } else {
      const box = h("input", { type: "number", name: spec.field, step: k.step, value: String(def), inputmode: "decimal", "aria-describedby": msg.id });
      readers.set(spec.field, () => parseNumber(box.value));
      input = box;
    }
    return h("div", { class: "field", "data-field": spec.field }, h("label", {}, spec.label, input), msg);
  };

  const values = (): Record<Field, unknown> =>
    Object.fromEntries([...readers].map(([f, read]) => [f, read()])) as Record<Field, unknown>;

  const show = (errors: FieldErrors) => {
    for (const [field, msg] of messages) {
      msg.textContent = errors[field] ?? "";
      msg.closest(".field")?.classList.toggle("invalid", Boolean(errors[field]));
    }
  };

  const modelSel = h("select", { name: "baseModelId", required: true });
  const dataSel = h("select", { name: "datasetId", required: true });
  // optional: held-out conversations evaluated every evalSteps and at the end (or evalSplit, under the trainer options)
  const evalSel = h("select", { name: "evalDatasetId" });
  const nameBox = h("input", { type: "text", name: "name", maxlength: 200, placeholder: "optional" });
  const submit = h("button", { type: "submit" }, "Start training");
  const basic = SPECS.filter((s) => !s.advanced).map(control);
  const advanced = SPECS.filter((s) => s.advanced).map(control);

  form.append(
    h("h1", {}, "New training run"),
    h("p", { class: "muted" }, "QLoRA on a registered base model and dataset; the values below are the reference job's (phi-2 on OpenAssistant)."),
    h("div", { class: "grid" },
      h("div", { class: "field" }, h("label", {}, "Base model", modelSel)),
      h("div", { class: "field" }, h("label", {}, "Dataset", dataSel)),
      h("div", { class: "field" }, h("label", {}, "Eval dataset", evalSel)),
      h("div", { class: "field" }, h("label", {}, "Run name", nameBox)),
      ...basic),
    h("details", {}, h("summary", {}, "All trainer options"), h("div", { class: "grid" }, ...advanced)),
    formError,
    h("div", { class: "actions" }, submit),
  );
  root.append(form);

  form.addEventListener("input", (e) => {
    const name = (e.target as HTMLInputElement).name as Field;
    if (!readers.has(name)) return;
    const msg = fieldErrors({ [name]: readers.get(name)!() })[name];
    messages.get(name)!.textContent = msg ?? "";
    messages.get(name)!.closest(".field")?.classList.toggle("invalid", Boolean(msg));
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(formError);
    const hp = values();
    const errors = fieldErrors(hp);
    show(errors);
    if (Object.keys(errors).length > 0) {
      form.querySelector<HTMLElement>(".invalid input, .invalid select")?.focus();
      return;
    }
    if (!modelSel.value || !dataSel.value) {
      formError.append(errorBox("Pick a base model and a dataset."));
      return;
    }
    submit.disabled = true;
    try {
      const data = await request<StartData>(START, {
        input: { name: nameBox.value.trim() || null, baseModelId: modelSel.value, datasetId: dataSel.value, evalDatasetId: evalSel.value || null, hyperparameters: hp },
      });
      location.hash = `#/runs/${encodeURIComponent(data.startTraining.id)}`;
    } catch (err) {
      const apiErr = err as ApiError;
      const field = fieldOfError(apiErr.path);
      if (field) show({ [field]: apiErr.message });
      else formError.append(errorBox(apiErr.message));
    } finally {
      submit.disabled = false;
    }
  });

  request<ChoicesData>(FORM_CHOICES).then(
    (data) => {
      if (!alive) return;
      clear(modelSel, ...data.models.map((m) => h("option", { value: m.id }, `${m.name} (${(m.parameterCount / 1e6).toFixed(1)}M)`)));
      const datasets = () => data.datasets.map((d) => h("option", { value: d.id }, `${d.name} (${d.conversationCount} conversations)`));
      clear(dataSel, ...datasets());
      clear(evalSel, h("option", { value: "" }, "none"), ...datasets());
      if (data.models.length === 0 || data.datasets.length === 0) {
        formError.append(errorBox("Register a base model (registerModel / initModel) and a dataset (registerDataset) first."));
      }
    },
    (err: ApiError) => alive && formError.append(errorBox(`Could not load models and datasets: ${err.message}`)),
  );
  return () => {
    alive = false;
  };
};
