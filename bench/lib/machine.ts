/** The machine a benchmark ran on, recorded beside its figures: cores, CPU model, memory, runtime and engine versions. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

export interface Machine {
  hostname: string;
  platform: string;
  arch: string;
  cpuModel: string;
  /** Logical cores Node may use (`os.availableParallelism()`). */
  cores: number;
  /** SIMD features the kernels care about, from /proc/cpuinfo where it exists. */
  cpuFlags: string[];
  memoryGiB: number;
  freeMemoryGiB: number;
  loadAverage: number[];
  versions: Record<string, string>;
}

const require = createRequire(import.meta.url);
const PACKAGES = ["onnxruntime-node", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu", "@huggingface/transformers", "node-llama-cpp"];
const FLAGS = ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8"];

/** The installed version of an npm package, or undefined when it is not installed. */
export function packageVersion(name: string): string | undefined {
  // read the file directly: a package's "exports" may not expose package.json
  for (const dir of require.resolve.paths(name) ?? []) {
    try {
      return (JSON.parse(readFileSync(path.join(dir, name, "package.json"), "utf8")) as { version: string }).version;
    } catch {
      continue;
    }
  }
  return undefined;
}

function cpuFlags(): string[] {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("flags"));
    const have = new Set(line?.split(":")[1]?.trim().split(/\s+/) ?? []);
    return FLAGS.filter((f) => have.has(f));
  } catch {
    return [];
  }
}

export function describeMachine(): Machine {
  const versions: Record<string, string> = { node: process.versions.node, v8: process.versions.v8 };
  for (const p of PACKAGES) {
    const v = packageVersion(p);
    if (v) versions[p] = v;
  }
  return {
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    cpuFlags: cpuFlags(),
    memoryGiB: os.totalmem() / 2 ** 30,
    freeMemoryGiB: os.freemem() / 2 ** 30,
    loadAverage: os.loadavg(),
    versions,
  };
}

/** One line for tables and logs: "AMD EPYC, 2 cores, 23.5 GiB, Node 20.20.0, onnxruntime-node 1.30.0, tfjs 4.22.0". */
export function machineLine(m: Machine): string {
  const v = m.versions;
  const parts = [m.cpuModel, `${m.cores} cores`, `${m.memoryGiB.toFixed(1)} GiB`, `Node ${v.node}`];
  if (v["onnxruntime-node"]) parts.push(`onnxruntime-node ${v["onnxruntime-node"]}`);
  if (v["@tensorflow/tfjs"]) parts.push(`tfjs ${v["@tensorflow/tfjs"]}`);
  if (m.cpuFlags.length) parts.push(m.cpuFlags.join(" "));
  return parts.join(", ");
}
