import { describe, expect, it } from "vitest";
import { adapterLabel, adaptersOf } from "../../../web/src/adapter-picker.js";

const trained = { id: "a1", name: "run-1a2b3c4d", baseModel: { id: "m1" }, run: { name: "baseline r8", currentStep: 8 } };
const unnamed = { id: "a2", name: "run-5e6f7a8b", baseModel: { id: "m1" }, run: { name: null, currentStep: 40 } };
const imported = { id: "a3", name: "my-lora", baseModel: { id: "m2" }, run: null };

describe("playground adapter picker", () => {
  it("labels an adapter by its run's name and step, and its own (unique) name", () => {
    expect(adapterLabel(trained)).toBe("baseline r8 · step 8 · run-1a2b3c4d");
    expect(adapterLabel(unnamed)).toBe("run-5e6f7a8b · step 40");
    expect(adapterLabel(imported)).toBe("my-lora · imported");
  });

  it("keeps the adapters of the chosen base model, in the API's order", () => {
    expect(adaptersOf([trained, imported, unnamed], "m1").map((a) => a.id)).toEqual(["a1", "a2"]);
    expect(adaptersOf([trained, imported, unnamed], "m3")).toEqual([]);
  });
});
