import type { Request, Response } from "express";
import type { Logger } from "pino";
import type { ServiceContext } from "../../services/context.js";

/** What every /v1 handler is given besides its request. */
export interface RouteDeps {
  services: ServiceContext;
  log: Logger;
}

export type Route = (deps: RouteDeps, req: Request, res: Response) => Promise<void>;

/** `file-<id>`, `ftjob-<id>`: OpenAI's typed ids over our records' ids (a bare id is taken too). */
export const withPrefix = (prefix: string, id: string): string => `${prefix}${id}`;
export const withoutPrefix = (prefix: string, id: string): string => (id.startsWith(prefix) ? id.slice(prefix.length) : id);

export const unixSeconds = (d: Date): number => Math.floor(d.getTime() / 1000);
