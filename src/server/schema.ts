import "reflect-metadata";
import { createPubSub } from "@graphql-yoga/subscription";
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { resolvers } from "../resolvers/index.js";

let built: Promise<GraphQLSchema> | null = null;

/** The executable schema (built once per process). */
export function apiSchema(): Promise<GraphQLSchema> {
  // our subscriptions bring their own `subscribe` (events come over Postgres LISTEN/NOTIFY), but type-graphql
  // insists on a pubSub when any subscription exists
  built ??= buildSchema({ resolvers, validate: false, emitSchemaFile: false, pubSub: createPubSub() });
  return built;
}
