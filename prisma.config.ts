// Prisma CLI configuration. The application applies prisma/migrations itself (src/db/migrate.ts), so the URL is only
// needed for CLI commands that talk to a database (`prisma migrate deploy/status` where the schema engine exists).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "" },
});
