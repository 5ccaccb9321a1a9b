import { UserError } from "../model/errors.js";
import type { Prisma } from "../generated/prisma/client.js";
import type { ServiceContext } from "./context.js";
import type { RunStatusName } from "./events.js";
import { checkPageSize, checkStep, PAGE_LIMITS } from "./paging.js";
import type { CheckpointRecord, EvalRecord, LogRecord, MetricRecord, RunRecord } from "./records.js";

// The read side of training runs: pages of runs, and their metrics, logs and checkpoints for many runs at once
// (one query per list, whatever the number of runs: the per-request loaders batch into these).

export interface RunFilter {
  status?: RunStatusName[] | null;
  baseModelId?: string | null;
}

export interface RunPage {
  runs: RunRecord[];
  totalCount: number;
  hasNextPage: boolean;
  endCursor: string | null;
}

/** The stored rows a shown status stands for (run-status.ts: CANCELLING is RUNNING with a cancel asked for). */
function statusWhere(status: RunStatusName): Prisma.TrainingRunWhereInput {
  if (status === "CANCELLING") return { status: "RUNNING", cancelRequested: true };
  if (status === "RUNNING") return { status: "RUNNING", cancelRequested: false };
  return { status };
}

/** Newest first; `after` is a page's `endCursor` (keyset: it stays valid when its run is deleted). */
export async function listRuns(ctx: ServiceContext, filter: RunFilter | null, first: number, after: string | null): Promise<RunPage> {
  checkPageSize("first", first, PAGE_LIMITS.runs);
  const where = {
    ...(filter?.status?.length ? { OR: filter.status.map(statusWhere) } : {}),
    ...(filter?.baseModelId ? { baseModelId: filter.baseModelId } : {}),
  };
  const cursor = after === null ? null : decodeCursor(after);
  const rows = await ctx.prisma.trainingRun.findMany({
    where: cursor
      ? { AND: [where, { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] }] }
      : where,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: first + 1,
  });
  const runs = rows.slice(0, first);
  const last = runs.at(-1);
  return {
    runs,
    totalCount: await ctx.prisma.trainingRun.count({ where }),
    hasNextPage: rows.length > first,
    endCursor: last ? encodeCursor(last) : null,
  };
}

/** The cursor that pages after this run (a face that names pages by their last item: OpenAI's `after`). */
export async function cursorAfterRun(ctx: ServiceContext, id: string, field: string): Promise<string> {
  const run = await ctx.prisma.trainingRun.findUnique({ where: { id }, select: { id: true, createdAt: true } });
  if (!run) throw new UserError(`${field}: no training run ${id}`, { code: "NOT_FOUND", field });
  return encodeCursor(run);
}

const CURSOR = /^run:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\/([0-9a-f-]{36})$/;

function encodeCursor(run: { createdAt: Date; id: string }): string {
  return Buffer.from(`run:${run.createdAt.toISOString()}/${run.id}`).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const m = CURSOR.exec(Buffer.from(cursor, "base64url").toString());
  const createdAt = m ? new Date(m[1]!) : null;
  if (!m || !createdAt || Number.isNaN(createdAt.getTime())) {
    throw new UserError(`after: not a cursor from pageInfo.endCursor: ${JSON.stringify(cursor.slice(0, 100))}`);
  }
  return { createdAt, id: m[2]! };
}

export interface MetricsQuery {
  /** only steps after this one */
  sinceStep: number | null;
  /** only the latest this many */
  last: number | null;
}

export function checkMetricsQuery(q: MetricsQuery): void {
  if (q.sinceStep !== null) checkStep("metrics: sinceStep", q.sinceStep);
  if (q.last !== null) checkPageSize("metrics: last", q.last, PAGE_LIMITS.metrics);
}

/** Each run's metrics in step order. */
export async function metricsOfRuns(ctx: ServiceContext, runIds: readonly string[], q: MetricsQuery): Promise<Map<string, MetricRecord[]>> {
  checkMetricsQuery(q);
  // LATERAL: the latest `last` of each run through the (runId, step) key; LIMIT NULL is no limit
  const rows = await ctx.prisma.$queryRaw<(MetricRecord & { runId: string })[]>`
    SELECT m."runId", m."step", m."loss", m."gradNorm", m."learningRate", m."epoch", m."tokensPerSecond", m."at"
    FROM unnest(${runIds}::text[]) AS r(id)
    CROSS JOIN LATERAL (
      SELECT * FROM "TrainingMetric"
      WHERE "runId" = r.id AND (${q.sinceStep}::int IS NULL OR "step" > ${q.sinceStep}::int)
      ORDER BY "step" DESC LIMIT ${q.last}::int
    ) m
    ORDER BY m."runId", m."step"`;
  return byRun(runIds, rows, ({ runId: _, ...m }) => m);
}

export function checkLogsQuery(last: number): void {
  checkPageSize("logs: last", last, PAGE_LIMITS.logs);
}

/** Each run's latest `last` log lines, oldest first. */
export async function logsOfRuns(ctx: ServiceContext, runIds: readonly string[], last: number): Promise<Map<string, LogRecord[]>> {
  checkLogsQuery(last);
  const rows = await ctx.prisma.$queryRaw<(LogRecord & { runId: string })[]>`
    SELECT l."runId", l."level", l."message", l."at"
    FROM unnest(${runIds}::text[]) AS r(id)
    CROSS JOIN LATERAL (
      SELECT "id", "runId", "level"::text AS "level", "message", "at" FROM "TrainingLog"
      WHERE "runId" = r.id ORDER BY "id" DESC LIMIT ${last}::int
    ) l
    ORDER BY l."runId", l."id"`;
  return byRun(runIds, rows, ({ runId: _, ...l }) => l);
}

/** Each run's checkpoints in step order. */
export async function checkpointsOfRuns(ctx: ServiceContext, runIds: readonly string[]): Promise<Map<string, CheckpointRecord[]>> {
  const rows = await ctx.prisma.checkpoint.findMany({ where: { runId: { in: [...runIds] } }, orderBy: [{ runId: "asc" }, { step: "asc" }] });
  return byRun(runIds, rows, ({ runId: _, ...c }) => c);
}

export async function evalsOfRuns(ctx: ServiceContext, runIds: readonly string[]): Promise<Map<string, EvalRecord[]>> {
  const rows = await ctx.prisma.evalMetric.findMany({ where: { runId: { in: [...runIds] } }, orderBy: [{ runId: "asc" }, { step: "asc" }] });
  return byRun(runIds, rows, ({ runId: _, ...e }) => e);
}

function byRun<R extends { runId: string }, T>(runIds: readonly string[], rows: R[], item: (row: R) => T): Map<string, T[]> {
  const out = new Map<string, T[]>(runIds.map((id) => [id, []]));
  for (const row of rows) out.get(row.runId)?.push(item(row));
  return out;
}
