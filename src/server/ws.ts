import type { Server } from "node:http";
import { getOperationAST, GraphQLError, parse, validate, type ExecutionArgs, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { apiContext } from "../resolvers/context.js";
import type { ServiceContext } from "../services/context.js";
import { keyMatches, presentedKey } from "./auth.js";
import { maskError } from "./errors.js";
import { checkQueryLimits } from "./limits.js";

/**
 * graphql-ws on the HTTP server's port and path. The API key is checked once, in the connection params; each
 * operation then goes through the same auth, depth/cost limits and error masking as HTTP.
 */
export function attachWebSocket(httpServer: Server, path: string, schema: GraphQLSchema, services: ServiceContext, log: Logger): () => Promise<void> {
  const wss = new WebSocketServer({ server: httpServer, path, maxPayload: services.config.limits.bodyBytes });
  const { apiKey, limits } = services.config;
  const cleanup = useServer<Record<string, unknown>>(
    {
      schema,
      onConnect: (ctx) => {
        const params = ctx.connectionParams ?? {};
        const presented = presentedKey(params.authorization ?? params.Authorization) ?? (typeof params.apiKey === "string" ? params.apiKey : null);
        return keyMatches(apiKey, presented);
      },
      onSubscribe: (_ctx, _id, payload) => {
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          return [err as GraphQLError];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new GraphQLError("no operation to run (name it with operationName)")];
        try {
          checkQueryLimits(schema, document, operation, payload.variables ?? undefined, limits);
        } catch (err) {
          return [err as GraphQLError];
        }
        const contextValue = apiContext(services, true);
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue } satisfies ExecutionArgs;
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
