import { UserError } from "../model/errors.js";
import { createPrisma, type Db } from "./client.js";
import { startEmbeddedPostgres } from "./embedded.js";
import { migrate } from "./migrate.js";

export interface Database {
  url: string;
  prisma: Db;
  /** names of the migrations applied by this start */
  applied: string[];
  embedded: boolean;
  close(): Promise<void>;
}

/** `url` given: that server. Otherwise an embedded PostgreSQL in the data directory. Migrations are applied either way. */
export async function openDatabase(opts: { url?: string; dataDir: string; log?: (line: string) => void }): Promise<Database> {
  const embedded = opts.url ? null : await startEmbeddedPostgres(opts.dataDir, opts.log);
  const url = opts.url ?? embedded!.url;
  try {
    const applied = await migrate(url);
    const prisma = createPrisma(url);
    return {
      url,
      prisma,
      applied,
      embedded: embedded !== null,
      close: async () => {
        await prisma.$disconnect();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw (opts.url && refused(opts.url, err)) || err;
  }
}

// PostgreSQL's SQLSTATEs for "no such database", a refused login and the connection failures (class 08)
const REFUSED_STATES = /^(3D000|28000|28P01|08...)$/;
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ETIMEDOUT", "ECONNRESET", "EAI_AGAIN"]);

/** The server DATABASE_URL names cannot be reached or refuses us: one line naming it, never the password. */
function refused(url: string, err: unknown): UserError | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !(REFUSED_STATES.test(code) || UNREACHABLE_CODES.has(code))) return null;
  let where = "the server";
  try {
    const u = new URL(url);
    where = `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    // a URL pg accepted but URL does not: name no part of it
  }
  return new UserError(`DATABASE_URL: cannot use the database at ${where}: ${(err as Error).message} (${code})`);
}
