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
    throw err;
  }
}
