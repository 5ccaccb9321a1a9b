import { createRequire } from "node:module";
import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { availableEngines, initEngine } from "../../../src/backends/tfjs/engine.js";

const installed = (name: string) => {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
};

describe("tfjs engine choice", () => {
  // tfjs-node and tfjs-node-gpu cannot install offline: on these machines the first engine that loads is wasm
  it.skipIf(installed("@tensorflow/tfjs-node-gpu") || installed("@tensorflow/tfjs-node") || !!process.env.TUNEGRAPH_TFJS_ENGINE)(
    "without a native tfjs, picks wasm with one thread per core (at most 8), once per process, and reports it",
    async () => {
      const info = await initEngine();
      expect(info).toMatchObject({ backend: "tfjs", engine: "wasm", device: "cpu" });
      expect(tf.getBackend()).toBe("wasm");
      expect(info.threads).toBe(process.env.TUNEGRAPH_TFJS_THREADS ? Number(process.env.TUNEGRAPH_TFJS_THREADS) : Math.min(os.availableParallelism(), 8));
      expect(await initEngine()).toBe(info);
      // a later call asking for another engine gets the same choice: tfjs has one backend per process
      expect(await initEngine("cpu")).toBe(info);
    },
  );

  it("lists wasm and cpu among the available engines", async () => {
    const engines = await availableEngines();
    expect(engines).toEqual(expect.arrayContaining(["wasm", "cpu"]));
  });
});
