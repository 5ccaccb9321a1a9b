import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// design.md's import directions, checked on the source: resolvers and /v1 handlers reach the database only through
// services, and schema/ holds type-graphql classes that import no database and no layer above them.

const SRC = path.resolve(import.meta.dirname, "../../../src");

/** Every module a TypeScript source imports or re-exports (static, side-effect and dynamic imports). */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [/(?:import|export)\s[^;"']*?from\s*["']([^"']+)["']/g, /import\s*["']([^"']+)["']/g, /import\s*\(\s*["']([^"']+)["']\s*\)/g];
  for (const p of patterns) for (const m of source.matchAll(p)) found.push(m[1]!);
  return found;
}

/** Where a specifier points: a path under src/ for relative ones ("db/client.js"), else the package name. */
function target(file: string, specifier: string): string {
  if (!specifier.startsWith(".")) return specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!;
  return path.relative(SRC, path.resolve(path.dirname(file), specifier)).split(path.sep).join("/");
}

function resolverViolations(file: string, source: string): string[] {
  const bad = importsOf(source)
    .map((s) => target(file, s))
    .filter((t) => /^(db|generated)(\/|$)/.test(t) || t === "@prisma/client" || t === "@prisma/adapter-pg" || t === "pg" || t === "prisma");
  // reaching the client through the service context (`services.prisma`) is the same shortcut
  if (/prisma/i.test(source)) bad.push("mentions prisma");
  return bad;
}

const SCHEMA_PACKAGES = new Set(["type-graphql", "graphql-scalars", "graphql"]);

function schemaViolations(file: string, source: string): string[] {
  return importsOf(source)
    .map((s) => target(file, s))
    .filter((t) => (t.includes("/") && !t.startsWith("@") ? /^(db|generated|services|resolvers|server|cli)(\/|$)/.test(t) : !SCHEMA_PACKAGES.has(t)));
}

function sources(dir: string): string[] {
  return readdirSync(path.join(SRC, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(SRC, dir, f));
}

describe("layers", () => {
  it("resolvers import no database client, generated types or db/ module", () => {
    const files = sources("resolvers");
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(resolverViolations(f, readFileSync(f, "utf8")), path.relative(SRC, f)).toEqual([]);
  });

  it("the /v1 handlers (server/openai) are as thin: no database client, generated types or db/ module", () => {
    const files = sources("server/openai");
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(resolverViolations(f, readFileSync(f, "utf8")), path.relative(SRC, f)).toEqual([]);
  });

  it("schema/ imports only type-graphql, graphql-scalars and graphql, and no layer above it or the database", () => {
    const files = sources("schema");
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) expect(schemaViolations(f, readFileSync(f, "utf8")), path.relative(SRC, f)).toEqual([]);
  });

  it("catches each kind of shortcut (the checks above can fail)", () => {
    const resolver = path.join(SRC, "resolvers", "x.resolver.ts");
    expect(resolverViolations(resolver, 'import { createPrisma } from "../db/client.js";')).toContain("db/client.js");
    expect(resolverViolations(resolver, 'import type * as Db from "../generated/prisma/client.js";')).toContain("generated/prisma/client.js");
    expect(resolverViolations(resolver, 'export { x } from "../db/package-root.js";')).toContain("db/package-root.js");
    expect(resolverViolations(resolver, 'const m = await import("../db/migrate.js");')).toContain("db/migrate.js");
    expect(resolverViolations(resolver, 'import pg from "pg";')).toContain("pg");
    expect(resolverViolations(resolver, "return ctx.services.prisma.baseModel.findMany();")).toEqual(["mentions prisma"]);
    expect(resolverViolations(resolver, 'import { listModels } from "../services/catalog.js";')).toEqual([]);
    const schema = path.join(SRC, "schema", "types.ts");
    expect(schemaViolations(schema, 'import { ObjectType } from "type-graphql";\nimport { RunStatus } from "./enums.js";')).toEqual([]);
    expect(schemaViolations(schema, 'import { getRun } from "../services/training.js";')).toEqual(["services/training.js"]);
    expect(schemaViolations(schema, 'import express from "express";')).toEqual(["express"]);
    expect(schemaViolations(schema, 'import type { Db } from "../db/client.js";')).toEqual(["db/client.js"]);
  });
});
