import type { PhiConfig } from "../model/config.js";
import { UserError } from "../model/errors.js";
import { readAdapter } from "../model/peft.js";
import type { Adapter } from "../generated/prisma/client.js";
import type { ServiceContext } from "./context.js";
import { directorySize } from "./files.js";
import { getModel } from "./models.js";
import { uniqueName } from "./names.js";
import { assertEntriesInsideRoots, resolveInsideRoots } from "./paths.js";

/** Register a PEFT LoRA adapter trained anywhere; every tensor is checked against the base model. */
export async function importAdapter(ctx: ServiceContext, name: string, dir: string, baseModelId: string): Promise<Adapter> {
  await uniqueName(name, "name", (n) => ctx.prisma.adapter.findUnique({ where: { name: n } }));
  const base = await getModel(ctx, baseModelId);
  const real = await resolveInsideRoots(dir, ctx.config.roots, "path");
  await assertEntriesInsideRoots(real, ctx.config.roots);
  const { config } = await readAdapter(real, base.config as unknown as PhiConfig);
  return ctx.prisma.adapter.create({
    data: {
      name,
      baseModelId,
      r: config.r,
      loraAlpha: config.lora_alpha,
      loraDropout: config.lora_dropout,
      targetModules: config.target_modules,
      path: real,
      sizeBytes: BigInt(await directorySize(real)),
    },
  });
}

export async function getAdapter(ctx: ServiceContext, id: string): Promise<Adapter> {
  const a = await ctx.prisma.adapter.findUnique({ where: { id } });
  if (!a) throw new UserError(`no adapter ${id}`, "NOT_FOUND");
  return a;
}

export async function deleteAdapter(ctx: ServiceContext, id: string): Promise<boolean> {
  await getAdapter(ctx, id);
  const merged = await ctx.prisma.mergedModel.count({ where: { adapterId: id } });
  if (merged > 0) throw new UserError(`adapter ${id} is used by ${merged} merged models: delete those first`, "CONFLICT");
  await ctx.prisma.adapter.delete({ where: { id } });
  return true;
}
