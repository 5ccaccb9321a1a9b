import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { expressMiddleware } from "@as-integrations/express5";
import express from "express";
import type { Logger } from "pino";
import { UserError } from "../model/errors.js";
import { apiContext, type ApiContext } from "../resolvers/context.js";
import type { ServiceContext } from "../services/context.js";
import { keyMatches, presentedKey } from "./auth.js";
import { maskError } from "./errors.js";
import { jsonErrors, notFound } from "./http-errors.js";
import { RequestPipeline } from "./pipeline.js";
import { loggingPlugin } from "./plugins/logging.js";
import { pipelinePlugin } from "./plugins/pipeline.js";
import { OPENAI_PATH, openaiRouter } from "./openai/index.js";
import { mountProbes } from "./probes.js";
import { apiSchema } from "./schema.js";
import { mountIde, mountWeb } from "./static.js";
import { attachWebSocket } from "./ws.js";

export const GRAPHQL_PATH = "/graphql";

export interface ApiServer {
  httpServer: Server;
  /** http://host:port/graphql (ws:// on the same URL for subscriptions; the GraphQL IDE for a browser) */
  url: string;
  /** http://host:port/ : the dashboard and playground */
  webUrl: string;
  close(): Promise<void>;
}

/** Apollo (HTTP) and graphql-ws (WebSocket) on one port and path, and the OpenAI-compatible /v1 routes, over the given services. */
export async function startApiServer(services: ServiceContext, log: Logger): Promise<ApiServer> {
  const { config } = services;
  const schema = await apiSchema();
  const pipeline = new RequestPipeline(schema, config.limits);
  const app = express();
  const httpServer = createServer(app);
  const apollo = new ApolloServer<ApiContext>({
    schema,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // the CLI stops everything in order on a signal (cli/shutdown.ts); Apollo's own handler would re-raise it mid-way
    stopOnTerminationSignals: false,
    // the pipeline's token limit again, for Apollo's own parse of the admitted source
    parseOptions: { maxTokens: config.limits.maxTokens },
    // no cache of parsed documents: it would replace the stand-in of a refused request (plugins/pipeline.ts), and
    // parsing and validating a bounded document is cheap
    documentStore: null,
    formatError: (formatted, error) => maskError(formatted, error, log),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // browsers get our own GraphiQL instead (mountIde): Apollo's Sandbox loads from a CDN and fails offline
      ApolloServerPluginLandingPageDisabled(),
      pipelinePlugin(pipeline),
      loggingPlugin(log),
    ],
  });
  await apollo.start();
  mountIde(app, GRAPHQL_PATH);
  app.use(
    GRAPHQL_PATH,
    express.json({ limit: config.limits.bodyBytes }),
    expressMiddleware(apollo, {
      context: async ({ req }) => apiContext(services, keyMatches(config.apiKey, presentedKey(req.headers.authorization))),
    }),
  );
  app.use(OPENAI_PATH, openaiRouter(services, log));
  mountProbes(app, schema, services);
  mountWeb(app);
  app.use(notFound);
  app.use(jsonErrors(log, config.limits.bodyBytes));
  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "EADDRINUSE" ? new UserError(`port ${config.port} on ${config.host} is in use: choose another with --port or TUNEGRAPH_PORT`) : err),
    );
    httpServer.listen(config.port, config.host, () => resolve());
  });
  // after listening: a failed listen would otherwise also be reported by the WebSocket server
  const closeWs = attachWebSocket(httpServer, GRAPHQL_PATH, pipeline, services, log);
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const origin = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  return {
    httpServer,
    url: `${origin}${GRAPHQL_PATH}`,
    webUrl: `${origin}/`,
    close: async () => {
      await closeWs();
      await apollo.stop();
    },
  };
}
