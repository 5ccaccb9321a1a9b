import { readConversations } from "../data/read.js";
import { UserError } from "../model/errors.js";
import type { Dataset } from "../generated/prisma/client.js";
import type { ServiceContext } from "./context.js";
import { uniqueName } from "./names.js";
import { resolveInsideRoots } from "./paths.js";

/** Register a conversation file: its format is detected and every row read once, to count conversations and skips. */
export async function registerDataset(ctx: ServiceContext, name: string, file: string): Promise<Dataset> {
  await uniqueName(name, "name", (n) => ctx.prisma.dataset.findUnique({ where: { name: n } }));
  return addDataset(ctx, name, await resolveInsideRoots(file, ctx.config.roots, "path"));
}

/** Register a file the server itself chose (no roots check): the demo dataset. */
export async function addDataset(ctx: ServiceContext, name: string, real: string): Promise<Dataset> {
  const read = await readConversations(real);
  return ctx.prisma.dataset.create({
    data: {
      name,
      path: real,
      format: read.format,
      conversationCount: read.counts.conversations,
      skipped: read.counts.skipped,
    },
  });
}

export async function deleteDataset(ctx: ServiceContext, id: string): Promise<boolean> {
  const d = await ctx.prisma.dataset.findUnique({ where: { id } });
  if (!d) throw new UserError(`no dataset ${id}`, "NOT_FOUND");
  const runs = await ctx.prisma.trainingRun.count({ where: { datasetId: id } });
  if (runs > 0) throw new UserError(`dataset ${id} is used by ${runs} training runs: delete those first`, "CONFLICT");
  await ctx.prisma.dataset.delete({ where: { id } });
  return true;
}
