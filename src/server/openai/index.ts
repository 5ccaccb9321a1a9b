import express, { type Request, type RequestHandler, type Response } from "express";
import type { Logger } from "pino";
import type { ServiceContext } from "../../services/context.js";
import { keyMatches, presentedKey } from "../auth.js";
import { chatCompletions } from "./chat.js";
import { completions } from "./completions.js";
import { errorBody, OpenAIError, openaiErrors, unknownRoute } from "./errors.js";
import * as files from "./files.js";
import * as jobs from "./fine-tuning.js";
import * as models from "./models.js";
import type { Route, RouteDeps } from "./route.js";

export const OPENAI_PATH = "/v1";

/**
 * The OpenAI-compatible face (design.md: two faces over the same services): models, chat and text completions, files
 * and fine-tuning jobs, behind the same API key (`Authorization: Bearer`) and limits as GraphQL; every error in
 * OpenAI's shape.
 */
export function openaiRouter(services: ServiceContext, log: Logger): express.Router {
  const deps: RouteDeps = { services, log };
  const route = (handler: Route): RequestHandler => (req: Request, res: Response) => handler(deps, req, res);
  const router = express.Router();
  router.use((req, res, next) => {
    if (keyMatches(services.config.apiKey, presentedKey(req.headers.authorization))) return next();
    const e = new OpenAIError(401, "Incorrect API key provided: send Authorization: Bearer <TUNEGRAPH_API_KEY>", null, "invalid_api_key");
    res.status(401).json(errorBody(e));
  });
  router.use(express.json({ limit: services.config.limits.bodyBytes }));

  router.get("/models", route(models.listAll));
  router.get("/models/:model", route(models.retrieve));
  router.post("/chat/completions", route(chatCompletions));
  router.post("/completions", route(completions));

  router.post("/files", route(files.upload));
  router.get("/files", route(files.list));
  router.get("/files/:file_id", route(files.retrieve));
  router.get("/files/:file_id/content", route(files.content));
  router.delete("/files/:file_id", route(files.remove));

  router.post("/fine_tuning/jobs", route(jobs.create));
  router.get("/fine_tuning/jobs", route(jobs.list));
  router.get("/fine_tuning/jobs/:job_id", route(jobs.retrieve));
  router.post("/fine_tuning/jobs/:job_id/cancel", route(jobs.cancel));
  router.post("/fine_tuning/jobs/:job_id/resume", route(jobs.resume));
  router.get("/fine_tuning/jobs/:job_id/events", route(jobs.events));
  router.get("/fine_tuning/jobs/:job_id/checkpoints", route(jobs.checkpoints));

  router.use(unknownRoute);
  router.use(openaiErrors(log));
  return router;
}
