import { readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../db/package-root.js";
import type { ServiceContext } from "./context.js";

const VERSION = (JSON.parse(readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
const STARTED = Date.now();

export interface HealthReport {
  ok: boolean;
  database: boolean;
  version: string;
  uptimeSeconds: number;
}

/** Liveness and whether the database answers. */
export async function checkHealth(ctx: ServiceContext): Promise<HealthReport> {
  const database = await ctx.prisma.$queryRaw`SELECT 1`.then(() => true, () => false);
  return { ok: database, database, version: VERSION, uptimeSeconds: (Date.now() - STARTED) / 1000 };
}
