import type { Server } from "node:http";
import type { ExecutionArgs } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { apiContext } from "../resolvers/context.js";
import type { ServiceContext } from "../services/context.js";
import { keyMatches, presentedKey } from "./auth.js";
import { maskError } from "./errors.js";
import type { RequestPipeline } from "./pipeline.js";

/**
 * graphql-ws on the HTTP server's port and path. The API key is checked once, in the connection params; each
 * operation then goes through the same request pipeline and error masking as HTTP.
 */
export function attachWebSocket(httpServer: Server, path: string, pipeline: RequestPipeline, services: ServiceContext, log: Logger): () => Promise<void> {
  const wss = new WebSocketServer({ server: httpServer, path, maxPayload: services.config.limits.bodyBytes });
  const { schema } = pipeline;
  const cleanup = useServer<Record<string, unknown>>(
    {
      schema,
      onConnect: (ctx) => {
        const params = ctx.connectionParams ?? {};
        const presented = presentedKey(params.authorization ?? params.Authorization) ?? (typeof params.apiKey === "string" ? params.apiKey : null);
        return keyMatches(services.config.apiKey, presented);
      },
      onSubscribe: (_ctx, _id, payload) => {
        const prepared = pipeline.prepare({ ...payload, authenticated: true, transport: "WS" });
        if ("errors" in prepared) return prepared.errors;
        const contextValue = apiContext(services, true);
        return { schema, document: prepared.document, operationName: payload.operationName, variableValues: payload.variables, contextValue } satisfies ExecutionArgs;
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => maskError(e.toJSON(), e, log)) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => maskError(e.toJSON(), e, log)),
    },
    wss,
  );
  return async () => {
    await cleanup.dispose();
    wss.close();
  };
}
