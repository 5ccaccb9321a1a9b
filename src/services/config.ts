import path from "node:path";
import { hubAccess, type HubAccess } from "../hub/access.js";
import { UserError } from "../model/errors.js";
import { isLinearModule, LINEAR_MODULES } from "../model/phi-layout.js";
import { DEFAULT_LORA_MAX_RANK } from "../backends/types.js";

/** Everything the services and the server read from the environment, parsed once. */
export interface AppConfig {
  dataDir: string;
  /** unset: embedded PostgreSQL in `<dataDir>/postgres` */
  databaseUrl?: string;
  apiKey?: string;
  /** every path a client sends must resolve inside one of these */
  roots: string[];
  host: string;
  port: number;
  limits: Limits;
  /** how often a worker marks its runs alive, and after how long a silent RUNNING run counts as interrupted */
  heartbeatMs: number;
  staleAfterMs: number;
  /** metrics are written in batches: at most this many, or after this long */
  metricBatchSize: number;
  metricFlushMs: number;
  /** training jobs one worker process runs at once */
  trainingConcurrency: number;
  /** seed the demo model and dataset on the first start */
  demo: boolean;
  /** the Hugging Face Hub that pulls download from: HF_ENDPOINT, HF_TOKEN */
  hub: HubAccess;
  /** what the automatic export of a base model takes adapters on (multi-LoRA serving), and up to which rank */
  lora: { targets: string[]; maxRank: number };
}

export interface Limits {
  maxDepth: number;
  maxCost: number;
  /** bounds on the document itself, checked before validation (whose cost grows with the square of the fields) */
  maxTokens: number;
  maxFields: number;
  maxAliases: number;
  maxDirectives: number;
  bodyBytes: number;
  /** an uploaded file (/v1/files) */
  fileBytes: number;
  maxNewTokens: number;
  /** QUEUED + RUNNING training runs accepted at once */
  maxActiveRuns: number;
  /** generations served at once by one API process */
  maxConcurrentGenerations: number;
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const dataDir = path.resolve(env.TUNEGRAPH_DATA_DIR ?? "./.data");
  const roots = env.TUNEGRAPH_ROOTS ? env.TUNEGRAPH_ROOTS.split(path.delimiter).filter(Boolean).map((r) => path.resolve(r)) : [dataDir];
  return {
    dataDir,
    databaseUrl: env.DATABASE_URL || undefined,
    apiKey: env.TUNEGRAPH_API_KEY || undefined,
    roots,
    host: env.TUNEGRAPH_HOST ?? "127.0.0.1",
    port: int(env, "TUNEGRAPH_PORT", 4000, 0, 65535),
    limits: {
      maxDepth: int(env, "TUNEGRAPH_MAX_DEPTH", 8, 1),
      maxCost: int(env, "TUNEGRAPH_MAX_COST", 5000, 1),
      maxTokens: int(env, "TUNEGRAPH_MAX_TOKENS", 2000, 1),
      maxFields: int(env, "TUNEGRAPH_MAX_FIELDS", 200, 1),
      maxAliases: int(env, "TUNEGRAPH_MAX_ALIASES", 30, 0),
      maxDirectives: int(env, "TUNEGRAPH_MAX_DIRECTIVES", 20, 0),
      bodyBytes: int(env, "TUNEGRAPH_BODY_LIMIT", 1_000_000, 1),
      fileBytes: int(env, "TUNEGRAPH_FILE_LIMIT", 512 * 1024 * 1024, 1),
      maxNewTokens: int(env, "TUNEGRAPH_MAX_NEW_TOKENS", 1024, 1),
      maxActiveRuns: int(env, "TUNEGRAPH_MAX_ACTIVE_RUNS", 8, 1),
      maxConcurrentGenerations: int(env, "TUNEGRAPH_MAX_CONCURRENT_GENERATIONS", 4, 1),
    },
    heartbeatMs: int(env, "TUNEGRAPH_HEARTBEAT_MS", 2000, 100),
    staleAfterMs: int(env, "TUNEGRAPH_STALE_AFTER_MS", 15_000, 500),
    metricBatchSize: int(env, "TUNEGRAPH_METRIC_BATCH", 50, 1),
    metricFlushMs: int(env, "TUNEGRAPH_METRIC_FLUSH_MS", 1000, 10),
    trainingConcurrency: int(env, "TUNEGRAPH_TRAINING_CONCURRENCY", 1, 1),
    demo: env.TUNEGRAPH_DEMO !== "0",
    hub: hubAccess(env),
    lora: {
      targets: loraTargets(env.TUNEGRAPH_LORA_TARGETS),
      maxRank: int(env, "TUNEGRAPH_LORA_MAX_RANK", DEFAULT_LORA_MAX_RANK, 1, 4096),
    },
    ...overrides,
  };
}

function int(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UserError(`${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got "${raw}"`);
  }
  return n;
}

/** TUNEGRAPH_LORA_TARGETS: comma-separated linears; default every linear an adapter may target here. */
function loraTargets(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === "") return [...LINEAR_MODULES];
  const targets = raw.split(",").map((t) => t.trim()).filter(Boolean);
  const bad = targets.filter((t) => !isLinearModule(t));
  if (targets.length === 0 || bad.length > 0) throw new UserError(`TUNEGRAPH_LORA_TARGETS must list modules among ${LINEAR_MODULES.join(", ")}, got "${raw}"`);
  return targets;
}
