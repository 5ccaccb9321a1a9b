import path from "node:path";
import { checkRepoId, pullRepo, resolveRevision } from "../hub/pull.js";
import { isUserError, UserError } from "../model/errors.js";
import { asUserError } from "../model/system-errors.js";
import type { HubPull, HubRepoKind } from "../generated/prisma/client.js";
import type { ServiceContext } from "./context.js";
import { addDataset } from "./datasets.js";
import { addModel } from "./models.js";
import { uniqueName } from "./names.js";

// how often a running pull writes its byte count (which is also its heartbeat for the sweep)
const PROGRESS_EVERY_MS = 1000;

/** Where a pull lands: `<dataDir>/hub/{models,datasets}/<owner>/<name>/<commit>`, shared by every pull of that commit. */
function pullDir(dataDir: string, kind: HubRepoKind, repo: string, commit: string): string {
  return path.join(dataDir, "hub", kind === "MODEL" ? "models" : "datasets", ...repo.split("/"), commit);
}

/**
 * Queue downloading a model checkpoint or a dataset's data files from the Hub; the job registers the result as
 * `name` (a dataset's other splits as `name-<split>`, e.g. `oasst1-validation`). `name` defaults to the repo's name.
 */
export async function pullFromHub(ctx: ServiceContext, kind: HubRepoKind, repo: string, revision: string, name?: string | null): Promise<HubPull> {
  checkRepoId(repo, "repo");
  const registered = name ?? repo.slice(repo.lastIndexOf("/") + 1);
  await uniqueName(registered, "name", async (n) =>
    (kind === "MODEL" ? await ctx.prisma.baseModel.findUnique({ where: { name: n } }) : await ctx.prisma.dataset.findUnique({ where: { name: n } })) ??
      (await ctx.prisma.hubPull.findFirst({ where: { kind, name: n, status: { in: ["QUEUED", "RUNNING"] } } })),
  );
  // a repo or revision that does not exist is refused now, and the job pulls the commit the revision is at now
  const commit = await resolveRevision({ repo, kind: kind === "MODEL" ? "model" : "dataset", revision, access: ctx.config.hub });
  // two pulls of one commit would write the same partial files
  const busy = await ctx.prisma.hubPull.findFirst({ where: { kind, repo, commit, status: { in: ["QUEUED", "RUNNING"] } } });
  if (busy) throw new UserError(`a pull of ${repo} at ${commit} is under way (pull ${busy.id}): wait for it to finish`, "CONFLICT");
  const pull = await ctx.prisma.hubPull.create({
    data: { kind, repo, revision, commit, name: registered, path: pullDir(ctx.config.dataDir, kind, repo, commit), datasetIds: [] },
  });
  await ctx.queue.sendPull({ pullId: pull.id });
  return pull;
}

export async function getPull(ctx: ServiceContext, id: string): Promise<HubPull> {
  const pull = await ctx.prisma.hubPull.findUnique({ where: { id } });
  if (!pull) throw new UserError(`no Hub pull ${id}`, "NOT_FOUND");
  return pull;
}

export function listPulls(ctx: ServiceContext): Promise<HubPull[]> {
  return ctx.prisma.hubPull.findMany({ orderBy: { createdAt: "desc" } });
}

/** The job: download (resuming what an earlier pull of the same commit left), then register through the services. */
export async function runPullJob(ctx: ServiceContext, pullId: string): Promise<void> {
  const { prisma } = ctx;
  const { count } = await prisma.hubPull.updateMany({ where: { id: pullId, status: "QUEUED" }, data: { status: "RUNNING" } });
  if (count === 0) return;
  const pull = await prisma.hubPull.findUniqueOrThrow({ where: { id: pullId } });
  let bytesDone = 0;
  const progress = (data: { bytesDone?: bigint; bytesTotal?: bigint }) =>
    prisma.hubPull.updateMany({ where: { id: pullId, status: "RUNNING" }, data }).catch((err: unknown) => ctx.log.warn({ err, pullId }, "could not record a pull's progress"));
  // the byte count is written every second; updatedAt is then the pull's heartbeat for the sweep (run-status.ts)
  const heartbeat = setInterval(() => void progress({ bytesDone: BigInt(bytesDone) }), Math.min(ctx.config.heartbeatMs, PROGRESS_EVERY_MS));
  const created: { models: string[]; datasets: string[] } = { models: [], datasets: [] };
  try {
    const result = await pullRepo({
      repo: pull.repo,
      kind: pull.kind === "MODEL" ? "model" : "dataset",
      revision: pull.commit ?? pull.revision,
      out: pull.path,
      access: ctx.config.hub,
      onProgress: (e) => {
        if (e.type === "start") void progress({ bytesTotal: BigInt(e.totalBytes) });
        else if (e.type === "bytes") bytesDone += e.bytes;
      },
    });
    if (pull.kind === "MODEL") {
      await uniqueName(pull.name, "name", (n) => prisma.baseModel.findUnique({ where: { name: n } }));
      created.models.push((await addModel(ctx, pull.name, result.dir)).id);
    } else {
      // train is `name`; every other split `name-<split>`; all names are checked before any is registered
      const names = result.splits.map((s) => ({ ...s, name: s.split === "train" || result.splits.length === 1 ? pull.name : `${pull.name}-${s.split}` }));
      for (const { name } of names) await uniqueName(name, "name", (n) => prisma.dataset.findUnique({ where: { name: n } }));
      for (const s of names) created.datasets.push((await addDataset(ctx, s.name, path.join(result.dir, s.path))).id);
    }
    await prisma.hubPull.update({
      where: { id: pullId },
      data: { status: "SUCCEEDED", bytesDone: BigInt(bytesDone), modelId: created.models[0] ?? null, datasetIds: created.datasets },
    });
  } catch (err) {
    // nothing half-registered: the splits registered before one failed are removed again
    await prisma.dataset.deleteMany({ where: { id: { in: created.datasets } } });
    await prisma.baseModel.deleteMany({ where: { id: { in: created.models } } });
    const known = asUserError(err);
    if (!isUserError(known)) ctx.log.error({ err, pullId }, "Hub pull failed");
    const message = isUserError(known) ? known.message : `pull failed: ${(err as Error).message ?? String(err)}`;
    await prisma.hubPull.update({ where: { id: pullId }, data: { status: "FAILED", error: message } });
  } finally {
    clearInterval(heartbeat);
  }
}
