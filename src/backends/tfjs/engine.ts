/**
 * Which tfjs engine runs the model: tensorflow-gpu, then tensorflow (both optional native packages that cannot install
 * offline, so loaded dynamically), then the wasm backend, then plain cpu. Chosen once per process.
 */
import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { UserError } from "../../model/errors.js";
import type { BackendInfo } from "../types.js";

export type EngineName = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";
export const ENGINE_NAMES: readonly EngineName[] = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"];
/** tfjs' threaded wasm build starts 8 pthread workers: its most threads. */
export const MAX_WASM_THREADS = 8;

export type EngineInfo = BackendInfo;

// a module name in a variable: TypeScript does not resolve it, so the optional packages need no types to compile
async function tryImport(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

/** Register one engine's tfjs backend; false when its package is not installed or does not initialise. */
async function register(engine: EngineName): Promise<boolean> {
  switch (engine) {
    case "tensorflow-gpu":
      return (await tryImport("@tensorflow/tfjs-node-gpu")) && tf.findBackend("tensorflow") !== null;
    case "tensorflow":
      return (await tryImport("@tensorflow/tfjs-node")) && tf.findBackend("tensorflow") !== null;
    case "wasm": {
      if (!(await tryImport("@tensorflow/tfjs-backend-wasm"))) return false;
      (await import("./wasm-kernels.js")).registerWasmKernels();
      const threads = wasmThreadsWanted();
      if (threads > 1) (await import("./wasm-threads.js")).registerThreadedWasm(threads);
      return true;
    }
    case "cpu":
      return true;
  }
}

function backendName(engine: EngineName): string {
  return engine === "tensorflow-gpu" ? "tensorflow" : engine;
}

/**
 * Threads for the wasm engine: TUNEGRAPH_TFJS_THREADS, else one per core (at most tfjs' 8). Above 1 the threaded
 * build runs (see wasm-threads.ts); 1 is tfjs' own single-threaded SIMD build.
 */
export function wasmThreadsWanted(): number {
  const v = process.env.TUNEGRAPH_TFJS_THREADS;
  if (v === undefined || v === "") return Math.min(os.availableParallelism(), MAX_WASM_THREADS);
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) throw new UserError(`TUNEGRAPH_TFJS_THREADS="${v}": expected an integer from 1 to ${MAX_WASM_THREADS}`);
  return n;
}

async function describe(engine: EngineName): Promise<EngineInfo> {
  const native = engine === "tensorflow" || engine === "tensorflow-gpu";
  const threads = native ? os.cpus().length // libtensorflow uses every core
    : engine === "wasm" ? (wasmThreadsWanted() > 1 ? (await import("./wasm-threads.js")).wasmThreads() : 1)
    : 1;
  return { backend: "tfjs", engine, device: engine === "tensorflow-gpu" ? "gpu" : "cpu", threads };
}

let chosen: Promise<EngineInfo> | null = null;

/**
 * Pick the first engine that loads (or exactly `prefer`, e.g. from TUNEGRAPH_TFJS_ENGINE) and make it tfjs' backend.
 * Later calls return the same choice.
 */
export function initEngine(prefer: EngineName | undefined = envEngine()): Promise<EngineInfo> {
  chosen ??= (async () => {
    const order = prefer ? [prefer] : ENGINE_NAMES;
    for (const engine of order) {
      if ((await register(engine)) && (await tf.setBackend(backendName(engine)))) {
        await tf.ready();
        return await describe(engine);
      }
    }
    throw new UserError(`tfjs engine ${prefer ?? "(any)"} could not be initialised (is its package installed?)`);
  })();
  return chosen;
}

function envEngine(): EngineName | undefined {
  const v = process.env.TUNEGRAPH_TFJS_ENGINE;
  if (!v) return undefined;
  if (!(ENGINE_NAMES as readonly string[]).includes(v)) {
    throw new UserError(`TUNEGRAPH_TFJS_ENGINE="${v}": expected one of ${ENGINE_NAMES.join(", ")}`);
  }
  return v as EngineName;
}

/** Is tfjs-node-gpu installed and loading here (the `auto` training engine's second choice)? */
export function tensorflowGpuInstalled(): Promise<boolean> {
  return register("tensorflow-gpu");
}

/** Engines that load in this process, for benchmarks that compare them; leaves the current backend selected. */
export async function availableEngines(): Promise<EngineName[]> {
  const found: EngineName[] = [];
  for (const engine of ENGINE_NAMES) {
    // both native packages register the same "tensorflow" backend: count the GPU one only when it loaded
    if (engine === "tensorflow" && found.includes("tensorflow-gpu")) continue;
    if (await register(engine)) found.push(engine);
  }
  return found;
}

/** Switch this process to another loaded engine (benchmarks only; the model code never switches). */
export async function switchEngine(engine: EngineName): Promise<EngineInfo> {
  if (!(await register(engine)) || !(await tf.setBackend(backendName(engine)))) {
    throw new Error(`tfjs engine ${engine} is not available`);
  }
  await tf.ready();
  const info = await describe(engine);
  chosen = Promise.resolve(info);
  return info;
}
