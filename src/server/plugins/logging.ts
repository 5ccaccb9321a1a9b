import type { ApolloServerPlugin } from "@apollo/server";
import type { Logger } from "pino";
import type { ApiContext } from "../../resolvers/context.js";

/** One pino line per request: operation, duration, error codes. */
export function loggingPlugin(log: Logger): ApolloServerPlugin<ApiContext> {
  return {
    async requestDidStart({ request }) {
      const started = performance.now();
      return {
        async willSendResponse({ operation, errors, response }) {
          const codes = (errors ?? []).map((e) => e.extensions?.code ?? "INTERNAL_SERVER_ERROR");
          const status = response.http.status ?? 200;
          log.info(
            {
              operation: request.operationName ?? operation?.name?.value ?? null,
              type: operation?.operation ?? null,
              ms: Math.round((performance.now() - started) * 10) / 10,
              status,
              ...(codes.length ? { errors: codes } : {}),
            },
            "graphql request",
          );
        },
      };
    },
  };
}
