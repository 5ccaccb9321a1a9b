/**
 * PEFT adapters loaded for an adapter-ready export, on first use: checked against the base model and against what the
 * export accepts, kept while requests use them, the least recently used unused ones dropped past a byte budget.
 * An adapter rewritten on disk (another size or mtime of its weights) is read afresh.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import type { PhiConfig } from "../../model/config.js";
import { isUserError, UserError } from "../../model/errors.js";
import { ADAPTER_WEIGHTS, readAdapter, type LoraWeights } from "../../model/peft.js";
import type { LoraSpec, StackableAdapter } from "./lora-stack.js";

export interface LoadedAdapter extends StackableAdapter {
  dir: string;
  bytes: number; // of its A and B as float32
  loadMs: number;
}

interface Entry {
  stamp: string;
  pins: number;
  loading: Promise<LoadedAdapter>;
  adapter?: LoadedAdapter;
}

export const DEFAULT_ADAPTER_CACHE_BYTES = 512 * 2 ** 20;

export class AdapterCache {
  private readonly entries = new Map<string, Entry>(); // recency order, oldest first
  private readonly owners = new WeakMap<LoadedAdapter, Entry>();

  constructor(
    private readonly config: PhiConfig,
    private readonly spec: LoraSpec,
    readonly capacityBytes: number = DEFAULT_ADAPTER_CACHE_BYTES,
  ) {}

  /** Bytes of the adapters held now. */
  get bytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.adapter?.bytes ?? 0;
    return n;
  }

  /** The adapter of `dir`, loaded if needed and kept until `release`. */
  async acquire(dir: string): Promise<LoadedAdapter> {
    const key = path.resolve(dir);
    const stamp = await weightsStamp(key);
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key); // re-inserted below: Map order is recency order
    if (!entry || entry.stamp !== stamp) {
      const fresh: Entry = { stamp, pins: 0, loading: this.load(key) };
      fresh.loading.then((a) => {
        fresh.adapter = a;
        this.owners.set(a, fresh);
      }, () => this.entries.get(key) === fresh && this.entries.delete(key));
      entry = fresh;
    }
    this.entries.set(key, entry);
    entry.pins++;
    try {
      const adapter = await entry.loading;
      this.evict();
      return adapter;
    } catch (e) {
      entry.pins--;
      throw e;
    }
  }

  release(adapter: LoadedAdapter): void {
    const entry = this.owners.get(adapter);
    if (entry && entry.pins > 0) entry.pins--;
    this.evict();
  }

  /** Drop unused adapters, oldest first, while over budget (adapters in use stay, even past it). */
  private evict(): void {
    let total = this.bytes;
    for (const [key, e] of this.entries) {
      if (total <= this.capacityBytes) return;
      if (e.pins > 0 || !e.adapter) continue;
      this.entries.delete(key);
      total -= e.adapter.bytes;
    }
  }

  private async load(dir: string): Promise<LoadedAdapter> {
    const started = performance.now();
    const read = await readAdapter(dir, this.config).catch((e: unknown) => {
      if (!isUserError(e)) throw e;
      const partial = /past the end|too short|out of range: the data section|no adapter_model\.safetensors/.test(e.message) ? " (still being written, or truncated?)" : "";
      throw new UserError(`adapter ${dir}: ${e.message}${partial}`, e.code);
    });
    const { config } = read;
    if (config.r > this.spec.maxRank) {
      // one message for both faces: the CLI's export takes a flag, the server's automatic export an environment variable
      throw new UserError(
        `adapter ${dir}: rank ${config.r} is above this export's max rank ${this.spec.maxRank}: merge the adapter (mergeAdapter, tunegraph merge), ` +
          `or export the base again with a larger max rank (tunegraph export --lora-max-rank ${config.r}; for the server's exports TUNEGRAPH_LORA_MAX_RANK=${config.r})`,
      );
    }
    const missing = config.target_modules.filter((t) => !(this.spec.targets as string[]).includes(t));
    if (missing.length > 0) {
      throw new UserError(`adapter ${dir}: targets ${missing.join(", ")}, which this export does not take adapters on (it was made for ${this.spec.targets.join(", ")}; re-export with --lora-targets or merge the adapter)`);
    }
    const weights = new Map<string, LoraWeights>(read.weights.map((w) => [w.module, w]));
    const bytes = read.weights.reduce((n, w) => n + (w.A.length + w.B.length) * 4, 0);
    return { key: dir, dir, scale: read.scale, rank: config.r, weights, bytes, loadMs: performance.now() - started };
  }
}

/** Size and mtime of the adapter's weights: a change means it was rewritten. */
async function weightsStamp(dir: string): Promise<string> {
  const st = await stat(path.join(dir, ADAPTER_WEIGHTS)).catch(() => null);
  return st ? `${st.size}:${st.mtimeMs}` : "absent";
}
