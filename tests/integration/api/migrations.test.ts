import { readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrisma } from "../../../src/db/client.js";
import { migrate, readMigrations } from "../../../src/db/migrate.js";
import { packageRoot } from "../../../src/db/package-root.js";
import { createTestDatabase, type TestDatabase } from "./test-db.js";

// Prisma scalar -> the column type PostgreSQL reports (information_schema.columns.udt_name)
const UDT: Record<string, string> = {
  String: "text",
  Int: "int4",
  BigInt: "int8",
  Float: "float8",
  Boolean: "bool",
  DateTime: "timestamp",
  Json: "jsonb",
};

interface Field {
  model: string;
  name: string;
  type: string;
  list: boolean;
  optional: boolean;
}

/** The scalar and enum fields of schema.prisma (relation fields carry no column). */
function schemaFields(schema: string): { fields: Field[]; enums: Map<string, string[]> } {
  const enums = new Map<string, string[]>();
  for (const m of schema.matchAll(/^enum (\w+) \{([^}]*)\}/gm)) enums.set(m[1]!, m[2]!.trim().split(/\s+/));
  const models = [...schema.matchAll(/^model (\w+) \{([^}]*)\}/gm)].map((m) => m[1]!);
  const fields: Field[] = [];
  for (const m of schema.matchAll(/^model (\w+) \{([^}]*)\}/gm)) {
    for (const line of m[2]!.split("\n")) {
      const f = /^\s+(\w+)\s+(\w+)(\[\])?(\?)?/.exec(line);
      if (!f || line.trim().startsWith("@@")) continue;
      if (models.includes(f[2]!)) continue;
      fields.push({ model: m[1]!, name: f[1]!, type: f[2]!, list: !!f[3], optional: !!f[4] });
    }
  }
  return { fields, enums };
}

describe("migrations", () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it("apply once, are recorded like `prisma migrate deploy`, and are idempotent", async () => {
    const all = await readMigrations();
    expect(all.length).toBeGreaterThan(0);
    expect(await migrate(db.url)).toEqual(all.map((m) => m.name));
    expect(await migrate(db.url)).toEqual([]);
    const { rows } = await client.query(
      `SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows.map((r) => r.migration_name)).toEqual(all.map((m) => m.name));
    for (const [i, r] of rows.entries()) {
      expect(r.checksum).toBe(all[i]!.checksum);
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.applied_steps_count).toBe(1);
    }
  });

  it("produce every column, type and enum of prisma/schema.prisma", async () => {
    const schema = await readFile(path.join(packageRoot(), "prisma", "schema.prisma"), "utf8");
    const { fields, enums } = schemaFields(schema);
    const { rows } = await client.query(
      `SELECT table_name, column_name, udt_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const columns = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r]));
    expect(fields.length).toBeGreaterThan(60);
    for (const f of fields) {
      const col = columns.get(`${f.model}.${f.name}`);
      expect(col, `${f.model}.${f.name}`).toBeDefined();
      const udt = enums.has(f.type) ? f.type : UDT[f.type];
      expect(col.udt_name, `${f.model}.${f.name}`).toBe(f.list ? `_${udt}` : udt);
      if (!f.list) expect(col.is_nullable, `${f.model}.${f.name} nullability`).toBe(f.optional ? "YES" : "NO");
    }
    const tables = new Set(rows.map((r) => r.table_name));
    expect([...tables].filter((t) => t !== "_prisma_migrations").sort()).toEqual([...new Set(fields.map((f) => f.model))].sort());
    for (const [name, values] of enums) {
      const { rows: labels } = await client.query(
        `SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = $1 ORDER BY e.enumsortorder`,
        [name],
      );
      expect(labels.map((l) => l.enumlabel)).toEqual(values);
    }
  });

  it("enforce one metric per (run, step) and work through the Prisma client", async () => {
    const prisma = createPrisma(db.url);
    try {
      const model = await prisma.baseModel.create({
        data: { name: "m", path: "/m", architecture: "PhiForCausalLM", parameterCount: 10n, config: {} },
      });
      const dataset = await prisma.dataset.create({
        data: { name: "d", path: "/d", format: "oasst-messages", conversationCount: 1, skipped: {} },
      });
      const run = await prisma.trainingRun.create({
        data: { baseModelId: model.id, datasetId: dataset.id, hyperparameters: {}, dataOptions: {}, maxSteps: 2, outDir: "/o" },
      });
      const metric = { runId: run.id, step: 1, loss: 2, gradNorm: 1, learningRate: 1e-4, epoch: 0.1, tokensPerSecond: 5 };
      await prisma.trainingMetric.create({ data: metric });
      await expect(prisma.trainingMetric.create({ data: metric })).rejects.toThrow();
      await prisma.trainingRun.delete({ where: { id: run.id } });
      expect(await prisma.trainingMetric.count()).toBe(0);
    } finally {
      await prisma.$disconnect();
    }
  });
});
