import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { availableEngines, ENGINE_NAMES, initEngine, wasmThreadsWanted } from "../../../src/backends/tfjs/engine.js";

const installed = (name: string) => {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
};

describe("tfjs engine choice", () => {
  it("picks the first engine that loads, once per process, and reports it", async () => {
    const info = await initEngine();
    expect(ENGINE_NAMES).toContain(info.engine);
    expect(info.backend).toBe("tfjs");
    expect(await initEngine()).toBe(info);
    const expected = process.env.TUNEGRAPH_TFJS_ENGINE
      ?? (installed("@tensorflow/tfjs-node-gpu") ? "tensorflow-gpu" : installed("@tensorflow/tfjs-node") ? "tensorflow" : "wasm");
    expect(info.engine).toBe(expected);
    expect(tf.getBackend()).toBe(expected.startsWith("tensorflow") ? "tensorflow" : expected);
    // one thread per core (tfjs' threaded build), or TUNEGRAPH_TFJS_THREADS
    if (expected === "wasm") expect(info.threads).toBe(wasmThreadsWanted());
    expect(info.device).toBe(expected === "tensorflow-gpu" ? "gpu" : "cpu");
  });

  it("lists wasm and cpu among the available engines", async () => {
    const engines = await availableEngines();
    expect(engines).toEqual(expect.arrayContaining(["wasm", "cpu"]));
  });
});
