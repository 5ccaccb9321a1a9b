import type { ApolloServerPlugin } from "@apollo/server";
import type { ApiContext } from "../../resolvers/context.js";
import { checkQueryLimits, type QueryLimits } from "../limits.js";

/** Query depth and cost limits, checked once the operation is known and before anything runs. */
export function limitsPlugin(limits: QueryLimits): ApolloServerPlugin<ApiContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (operation) checkQueryLimits(schema, document, operation, request.variables, limits);
        },
      };
    },
  };
}
