import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ServiceContext } from "./context.js";
import { addDataset } from "./datasets.js";
import { demoMessageRows } from "./demo-data.js";
import { initModel } from "./models.js";

export const DEMO_MODEL = "demo-tiny";
export const DEMO_DATASET = "demo-oasst";

/**
 * First start only (the database holds no models and no datasets): a tiny random-weight Phi and a small
 * OpenAssistant-format dataset, so that training, merging and generating work in minutes with no download.
 */
export async function seedDemo(ctx: ServiceContext): Promise<boolean> {
  const [models, datasets] = await Promise.all([ctx.prisma.baseModel.count(), ctx.prisma.dataset.count()]);
  if (models > 0 || datasets > 0) return false;
  const file = path.join(ctx.config.dataDir, "demo", "oasst-demo.jsonl");
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, demoMessageRows().map((r) => JSON.stringify(r)).join("\n") + "\n");
  // a model directory left by an interrupted first start is replaced
  const modelDir = path.join(ctx.config.dataDir, "models", DEMO_MODEL);
  if (existsSync(modelDir)) await rm(modelDir, { recursive: true, force: true });
  await initModel(ctx, "tiny", DEMO_MODEL, {}, 0);
  await addDataset(ctx, DEMO_DATASET, file);
  ctx.log.info({ model: DEMO_MODEL, dataset: DEMO_DATASET }, "demo model and dataset created");
  return true;
}
