import express from "express";
import { execute, parse, type GraphQLSchema } from "graphql";
import { apiContext } from "../resolvers/context.js";
import type { ServiceContext } from "../services/context.js";

const HEALTH = parse("{ health { ok database version uptimeSeconds } }");

/**
 * For load balancers and orchestrators: GET /livez answers 200 while the process serves HTTP; GET /readyz runs the
 * `health` query and answers 503 when it is not ok (the database is unreachable), 200 when it is.
 */
export function mountProbes(app: express.Express, schema: GraphQLSchema, services: ServiceContext): void {
  app.get("/livez", (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/readyz", async (_req, res) => {
    const result = await execute({ schema, document: HEALTH, contextValue: apiContext(services, true) });
    const health = (result.data?.health ?? null) as { ok: boolean } | null;
    res.status(health?.ok ? 200 : 503).json(health ?? { ok: false });
  });
}
