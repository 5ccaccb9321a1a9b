import type { ApolloServerPlugin } from "@apollo/server";
import { parse, type DocumentNode, type GraphQLError } from "graphql";
import type { ApiContext } from "../../resolvers/context.js";
import type { RequestPipeline, Transport } from "../pipeline.js";

// stands in for a refused document so that Apollo skips its parse and validation and reaches didResolveOperation,
// where the refusal is thrown (an error thrown earlier is answered as a 500 by Apollo)
const REFUSED = parse("{ __typename }");

/**
 * The request pipeline on Apollo: `admit` as soon as the source is known (before Apollo's own parse and validation,
 * which then see only a bounded document), `check` once the operation is.
 */
export function pipelinePlugin(pipeline: RequestPipeline): ApolloServerPlugin<ApiContext> {
  return {
    async requestDidStart({ request }) {
      const transport: Transport = request.http?.method === "GET" ? "GET" : "POST";
      let refusal: GraphQLError | undefined;
      return {
        async didResolveSource(ctx) {
          try {
            pipeline.admit(ctx.source, ctx.contextValue.authenticated);
          } catch (err) {
            refusal = err as GraphQLError;
            // Apollo reads the document back from the context it hands us (its type says readonly)
            (ctx as { document?: DocumentNode }).document = REFUSED;
          }
        },
        async didResolveOperation({ document, operation }) {
          if (refusal) throw refusal;
          if (operation) pipeline.check(document, operation, request.variables, transport);
        },
      };
    },
  };
}
