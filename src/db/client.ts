import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.js";
import { storable } from "./storable.js";

export type Db = PrismaClient;

/**
 * The Prisma client every service uses. Each operation's arguments go through `storable` first, so no NUL reaches
 * PostgreSQL from any service (it would refuse the write, and a run's real error would be lost with it).
 */
export function createPrisma(connectionString: string): Db {
  const client = new PrismaClient({ adapter: new PrismaPg({ connectionString }) });
  const scrubbed = client.$extends({
    query: { $allModels: { $allOperations: ({ args, query }) => query(storable(args)) } },
  });
  // the extension changes no method's signature, only what reaches the database
  return scrubbed as unknown as Db;
}
