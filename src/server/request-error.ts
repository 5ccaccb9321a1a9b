import { GraphQLError } from "graphql";

/** An error that refuses the whole request, with its API code and the HTTP status it answers with. */
export function requestError(message: string, code: string, status: number, headers?: Map<string, string>): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status, ...(headers ? { headers } : {}) } } });
}
