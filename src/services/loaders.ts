import DataLoader from "dataloader";
import {
  adaptersById,
  adaptersByRun,
  datasetsById,
  mergedModelsById,
  modelsById,
  runsById,
} from "./catalog.js";
import type { ServiceContext } from "./context.js";
import { checkpointsOfRuns, evalsOfRuns, logsOfRuns, metricsOfRuns, type MetricsQuery } from "./run-queries.js";
import type {
  AdapterRecord,
  BaseModelRecord,
  CheckpointRecord,
  DatasetRecord,
  EvalRecord,
  LogRecord,
  MergedModelRecord,
  MetricRecord,
  RunRecord,
} from "./records.js";

/**
 * One request's batched reads: the lookups and child lists that a list of parents asks for one by one are
 * gathered per tick into one query each (no N+1), and repeated keys are read once. Make one per request:
 * the cache is the request's view of the data.
 */
export interface Loaders {
  model: DataLoader<string, BaseModelRecord | null>;
  dataset: DataLoader<string, DatasetRecord | null>;
  run: DataLoader<string, RunRecord | null>;
  adapter: DataLoader<string, AdapterRecord | null>;
  /** by run id: the adapter the run trained */
  adapterOfRun: DataLoader<string, AdapterRecord | null>;
  mergedModel: DataLoader<string, MergedModelRecord | null>;
  metrics: DataLoader<MetricsKey, MetricRecord[], string>;
  logs: DataLoader<LogsKey, LogRecord[], string>;
  checkpoints: DataLoader<string, CheckpointRecord[]>;
  evalMetrics: DataLoader<string, EvalRecord[]>;
}

export interface MetricsKey extends MetricsQuery {
  runId: string;
}

export interface LogsKey {
  runId: string;
  last: number;
}

export function createLoaders(ctx: ServiceContext): Loaders {
  return {
    model: byKey((ids) => modelsById(ctx, ids), (m) => m.id),
    dataset: byKey((ids) => datasetsById(ctx, ids), (d) => d.id),
    run: byKey((ids) => runsById(ctx, ids), (r) => r.id),
    adapter: byKey((ids) => adaptersById(ctx, ids), (a) => a.id),
    adapterOfRun: byKey((ids) => adaptersByRun(ctx, ids), (a) => a.runId),
    mergedModel: byKey((ids) => mergedModelsById(ctx, ids), (m) => m.id),
    metrics: childLists(
      (k: MetricsKey) => `${k.sinceStep}/${k.last}`,
      (runIds, k) => metricsOfRuns(ctx, runIds, { sinceStep: k.sinceStep, last: k.last }),
    ),
    logs: childLists(
      (k: LogsKey) => `${k.last}`,
      (runIds, k) => logsOfRuns(ctx, runIds, k.last),
    ),
    checkpoints: new DataLoader(async (runIds) => {
      const lists = await checkpointsOfRuns(ctx, runIds);
      return runIds.map((id) => lists.get(id) ?? []);
    }),
    evalMetrics: new DataLoader(async (runIds) => {
      const lists = await evalsOfRuns(ctx, runIds);
      return runIds.map((id) => lists.get(id) ?? []);
    }),
  };
}

/** A lookup by a unique key; a key with no row loads as null. */
function byKey<T>(read: (keys: readonly string[]) => Promise<T[]>, keyOf: (row: T) => string | null): DataLoader<string, T | null> {
  return new DataLoader(async (keys) => {
    const rows = new Map((await read(keys)).map((row) => [keyOf(row), row]));
    return keys.map((k) => rows.get(k) ?? null);
  });
}

/** Child lists of runs with arguments: one query per distinct set of arguments among the batched keys. */
function childLists<K extends { runId: string }, T>(
  argsOf: (key: K) => string,
  read: (runIds: string[], args: K) => Promise<Map<string, T[]>>,
): DataLoader<K, T[], string> {
  return new DataLoader(
    async (keys) => {
      const groups = new Map<string, K[]>();
      for (const k of keys) {
        const group = groups.get(argsOf(k));
        if (group) group.push(k);
        else groups.set(argsOf(k), [k]);
      }
      // a failed group (bad arguments) fails only its own keys
      const lists = new Map<K, T[] | Error>();
      await Promise.all(
        [...groups.values()].map(async (group) => {
          try {
            const byRun = await read([...new Set(group.map((k) => k.runId))], group[0]!);
            for (const k of group) lists.set(k, byRun.get(k.runId) ?? []);
          } catch (err) {
            for (const k of group) lists.set(k, err instanceof Error ? err : new Error(String(err)));
          }
        }),
      );
      return keys.map((k) => lists.get(k)!);
    },
    { cacheKeyFn: (k) => `${k.runId}/${argsOf(k)}` },
  );
}

/** A row that a foreign key points at: its absence is a broken database, not a user's mistake. */
export async function loadExisting<T>(loader: DataLoader<string, T | null>, id: string, what: string): Promise<T> {
  const row = await loader.load(id);
  if (row === null) throw new Error(`${what} ${id} is missing`);
  return row;
}
