import { readFileSync } from "node:fs";
import path from "node:path";
import { Ctx, Query, Resolver } from "type-graphql";
import { packageRoot } from "../db/package-root.js";
import { Health } from "../schema/types.js";
import type { ApiContext } from "./context.js";

const VERSION = (JSON.parse(readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
const STARTED = Date.now();

@Resolver()
export class HealthResolver {
  @Query(() => Health, { description: "liveness and database reachability; needs no API key" })
  async health(@Ctx() { services }: ApiContext): Promise<Health> {
    const database = await services.prisma.$queryRaw`SELECT 1`.then(() => true, () => false);
    return { ok: database, database, version: VERSION, uptimeSeconds: (Date.now() - STARTED) / 1000 };
  }
}
