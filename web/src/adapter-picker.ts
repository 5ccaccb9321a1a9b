import { request, type ApiError } from "./api.js";
import { clear, h } from "./dom.js";
import { ADAPTERS, type AdapterChoice, type AdaptersData } from "./operations.js";

/** "baseline r8 · step 8 · run-1a2b3c4d": the run's name (when it has one) and step, and the adapter's name (unique). */
export function adapterLabel(a: AdapterChoice): string {
  if (!a.run) return `${a.name} · imported`;
  const step = `step ${a.run.currentStep}`;
  return a.run.name ? `${a.run.name} · ${step} · ${a.name}` : `${a.name} · ${step}`;
}

/** The adapters served on `baseModelId`, in the API's order (newest first). */
export function adaptersOf(adapters: readonly AdapterChoice[], baseModelId: string): AdapterChoice[] {
  return adapters.filter((a) => a.baseModel.id === baseModelId);
}

export interface AdapterPicker {
  el: HTMLElement;
  select: HTMLSelectElement;
  /** GenerateInput.adapterId: the chosen adapter; none while the list is not the chosen model's yet */
  adapterId(): string | undefined;
  /**
   * List the adapters of `baseModelId` afresh (one trained since the page opened shows up), keeping the choice when it
   * is still there, else choosing `wanted`; `null`: a merged model is chosen, which carries its own adapter.
   */
  show(baseModelId: string | null, wanted?: string | null): Promise<void>;
}

/**
 * The playground's adapter select: "none (base model)" plus the adapters of the chosen base model, served unmerged
 * with it (GenerateInput.adapterId). With none to offer it stays, with that one option and a hint saying why, so the
 * controls do not jump as the model changes.
 */
export function adapterPicker(): AdapterPicker {
  const select = h("select", { name: "adapter", id: "adapter", "aria-describedby": "adapter-hint" });
  const hint = h("small", { class: "hint", id: "adapter-hint" });
  let asked = 0; // the latest show(): an older answer arriving late is dropped

  const show = async (baseModelId: string | null, wanted?: string | null) => {
    const ask = ++asked;
    const kept = select.value;
    select.disabled = true; // until the list is the chosen model's
    if (baseModelId === null) {
      clear(select, h("option", { value: "" }, "built in (merged model)"));
      hint.textContent = "A merged model has its adapter merged in; pick its base model to serve adapters unmerged.";
      return;
    }
    let adapters: AdapterChoice[] = [];
    let note = "No adapter for this model yet: train a run on it.";
    try {
      adapters = adaptersOf((await request<AdaptersData>(ADAPTERS)).adapters, baseModelId);
      if (adapters.length > 0) note = "served with the base model, unmerged";
    } catch (err) {
      note = `Could not load the adapters: ${(err as ApiError).message}`;
    }
    if (ask !== asked) return;
    clear(select, h("option", { value: "" }, "none (base model)"),
      ...adapters.map((a) => h("option", { value: a.id }, adapterLabel(a))));
    select.disabled = false;
    const ids = adapters.map((a) => a.id);
    select.value = ids.includes(kept) ? kept : wanted && ids.includes(wanted) ? wanted : "";
    hint.textContent = note;
  };

  return {
    el: h("div", { class: "field" }, h("label", { for: "adapter" }, "Adapter"), select, hint),
    select,
    adapterId: () => (select.disabled || !select.value ? undefined : select.value),
    show,
  };
}
