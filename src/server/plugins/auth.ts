import type { ApolloServerPlugin } from "@apollo/server";
import type { ApiContext } from "../../resolvers/context.js";
import { requireAuth } from "../auth.js";

/** Refuses every operation but `health` when an API key is configured and the request lacks it. */
export function authPlugin(): ApolloServerPlugin<ApiContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (operation) requireAuth(operation, contextValue.authenticated);
        },
      };
    },
  };
}
