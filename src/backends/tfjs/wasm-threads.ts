/**
 * tfjs' multi-threaded SIMD wasm build, under Node. tfjs turns threads off in Node: it hands Emscripten a Blob URL for
 * the pthread worker script, which Node's `Worker` cannot load. Here the same build is started with that script written
 * to a file, and registered as the "wasm" backend, so XNNPACK's matMuls run on every core (about 2x on 2 cores).
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { BackendWasm, getThreadsCount, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";

const require = createRequire(import.meta.url);
const BUILD = "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd";

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread: { runningWorkers: { unref(): void }[] };
  tfjs?: unknown;
}
type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/** Start the threaded build with `threads` threads (the calling thread included); resolves to the module tfjs expects. */
async function startThreaded(threads: number): Promise<EmscriptenModule> {
  const factoryPath = require.resolve(`${BUILD}.js`);
  const { wasmWorkerContents } = require(`${BUILD}.worker.js`) as { wasmWorkerContents: string };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tg-wasm-"));
  const workerPath = path.join(dir, "pthread.cjs");
  // the exported string had its "\n" escapes turned into newlines by a template literal (tfjs re-escapes them too)
  fs.writeFileSync(workerPath, wasmWorkerContents.replace(/\n/g, "\\n"));
  // the build caps its pool at half of os.cpus() (it assumes two hyperthreads per core); report twice `threads`
  // while it starts, so that the cap is `threads`
  const cpus = os.cpus;
  os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus()[i % cpus().length]);
  try {
    const factory = require(factoryPath) as Factory;
    const module = await factory({
      locateFile: (file: string, prefix: string) => (file.endsWith(".worker.js") ? workerPath : file.endsWith(".wasm") ? factoryPath.replace(/\.js$/, ".wasm") : prefix + file),
      mainScriptUrlOrBlob: factoryPath,
    });
    module.tfjs = {
      init: module.cwrap("init", null, []),
      initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
      getThreadsCount: module.cwrap("get_threads_count", "number", []),
      registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
      disposeData: module.cwrap("dispose_data", null, ["number"]),
      dispose: module.cwrap("dispose", null, []),
    };
    return module;
  } finally {
    os.cpus = cpus;
    // every pool worker has read the script by now (the module waits for them before it resolves)
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

let registered = false;

/**
 * Make the threaded build tfjs' "wasm" backend (its kernels are the same), before that backend first initialises.
 * The thread pool's workers do not keep the process alive, so tests and the CLI exit on their own.
 */
export function registerThreadedWasm(threads: number): void {
  if (registered) return;
  registered = true;
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", async () => {
    const module = await startThreaded(threads);
    setThreadsCount(threads);
    const backend = new BackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
    for (const w of module.PThread.runningWorkers) w.unref();
    return backend;
  }, 2);
}

/** Threads the wasm backend computes with, once it is initialised. */
export function wasmThreads(): number {
  return getThreadsCount();
}
