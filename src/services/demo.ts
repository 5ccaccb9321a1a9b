import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ServiceContext } from "./context.js";
import { addDataset } from "./datasets.js";
import { demoMessageRows } from "./demo-data.js";
import { initModel } from "./models.js";
import { parameterCount, presetConfig } from "../model/config.js";
import { initModel as writeRandomModel } from "../model/init.js";

export const DEMO_MODEL = "demo-tiny";
export const DEMO_DATASET = "demo-oasst";

const DEMO_SEED = 0;
const demoFile = (ctx: ServiceContext) => path.join(ctx.config.dataDir, "demo", "oasst-demo.jsonl");
const demoModelDir = (ctx: ServiceContext) => path.join(ctx.config.dataDir, "models", DEMO_MODEL);

/**
 * First start (the database holds no models and no datasets): a tiny random-weight Phi and a small
 * OpenAssistant-format dataset, so that training, merging and generating work in minutes with no download.
 * Later starts restore demo files that are gone (see restoreDemoFiles).
 */
export async function seedDemo(ctx: ServiceContext): Promise<boolean> {
  const [models, datasets] = await Promise.all([ctx.prisma.baseModel.count(), ctx.prisma.dataset.count()]);
  if (models > 0 || datasets > 0) {
    await restoreDemoFiles(ctx);
    return false;
  }
  await writeDemoFile(ctx);
  // a model directory left by an interrupted first start is replaced
  await rm(demoModelDir(ctx), { recursive: true, force: true });
  await initModel(ctx, "tiny", DEMO_MODEL, {}, DEMO_SEED);
  await addDataset(ctx, DEMO_DATASET, demoFile(ctx));
  ctx.log.info({ model: DEMO_MODEL, dataset: DEMO_DATASET }, "demo model and dataset created");
  return true;
}

/**
 * A database seeded from another data directory (DATABASE_URL shared by two installs), or whose demo files were
 * deleted, has demo rows pointing at nothing: write the files again in this data directory (same seed, same rows,
 * so adapters trained on the demo still fit) and point the rows at them.
 */
async function restoreDemoFiles(ctx: ServiceContext): Promise<void> {
  const model = await ctx.prisma.baseModel.findUnique({ where: { name: DEMO_MODEL } });
  const tiny = presetConfig("tiny");
  if (model && model.parameterCount === BigInt(parameterCount(tiny)) && !existsSync(path.join(model.path, "config.json"))) {
    const out = demoModelDir(ctx);
    await rm(out, { recursive: true, force: true });
    await writeRandomModel({ config: tiny, out, seed: DEMO_SEED, dtype: "F32" });
    await ctx.prisma.baseModel.update({ where: { id: model.id }, data: { path: out } });
    ctx.log.warn({ model: DEMO_MODEL, was: model.path, now: out }, "demo model files were missing: written again");
  }
  const dataset = await ctx.prisma.dataset.findUnique({ where: { name: DEMO_DATASET } });
  if (dataset && !existsSync(dataset.path)) {
    await writeDemoFile(ctx);
    await ctx.prisma.dataset.update({ where: { id: dataset.id }, data: { path: demoFile(ctx) } });
    ctx.log.warn({ dataset: DEMO_DATASET, was: dataset.path, now: demoFile(ctx) }, "demo dataset file was missing: written again");
  }
}

async function writeDemoFile(ctx: ServiceContext): Promise<void> {
  await mkdir(path.dirname(demoFile(ctx)), { recursive: true });
  await writeFile(demoFile(ctx), demoMessageRows().map((r) => JSON.stringify(r)).join("\n") + "\n");
}
