import type { ServiceContext } from "../services/context.js";
import { createLoaders, type Loaders } from "../services/loaders.js";

/** The per-request GraphQL context (HTTP or WebSocket). */
export interface ApiContext {
  services: ServiceContext;
  /** false when an API key is configured and the request did not present it */
  authenticated: boolean;
  /** this request's batched reads (relations and child lists of many parents in one query each) */
  loaders: Loaders;
}

/** A fresh context for one request (or one WebSocket operation): its loaders cache for that request only. */
export function apiContext(services: ServiceContext, authenticated: boolean): ApiContext {
  return { services, authenticated, loaders: createLoaders(services) };
}
