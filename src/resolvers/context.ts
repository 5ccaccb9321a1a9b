import type { ServiceContext } from "../services/context.js";

/** The per-request GraphQL context (HTTP or WebSocket). */
export interface ApiContext {
  services: ServiceContext;
  /** false when an API key is configured and the request did not present it */
  authenticated: boolean;
}
