import type { Command } from "commander";
import { pino } from "pino";
import { createBackends } from "../../backends/registry.js";
import { startApiServer } from "../../server/app.js";
import { loadConfig } from "../../services/config.js";
import { startServices } from "../../services/start.js";
import { action, int } from "../action.js";
import { stopOnSignal } from "../shutdown.js";

interface ServeFlags {
  port?: number;
  host?: string;
  dataDir?: string;
  worker: boolean;
  demo: boolean;
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the GraphQL API (HTTP and WebSocket on /graphql) with an in-process job worker")
    .option("--port <n>", "port (env TUNEGRAPH_PORT, default 4000; 0 = any free port)", int("--port", 0, 65535))
    .option("--host <addr>", "address to listen on (env TUNEGRAPH_HOST, default 127.0.0.1)")
    .option("--data-dir <dir>", "data directory (env TUNEGRAPH_DATA_DIR, default ./.data)")
    .option("--no-worker", "do not run training and merge jobs in this process (run `tunegraph worker` elsewhere)")
    .option("--no-demo", "do not create the demo model and dataset on the first start")
    .action(
      action(async (flags: ServeFlags) => {
        const env = { ...process.env, ...(flags.dataDir ? { TUNEGRAPH_DATA_DIR: flags.dataDir } : {}) };
        const config = loadConfig(env, {
          ...(flags.port !== undefined ? { port: flags.port } : {}),
          ...(flags.host ? { host: flags.host } : {}),
        });
        const log = pino({ name: "tunegraph", level: process.env.TUNEGRAPH_LOG_LEVEL ?? "info" });
        const backends = createBackends({ onnx: { maxNewTokens: config.limits.maxNewTokens } });
        const services = await startServices(config, backends, { worker: flags.worker, demo: flags.demo && config.demo, log });
        const server = await startApiServer(services.ctx, log).catch(async (err: unknown) => {
          await services.close();
          throw err;
        });
        // one line (scripts wait for it): the API, where a browser gets the GraphQL IDE, and the dashboard
        process.stdout.write(
          `tunegraph: GraphQL API at ${server.url} (subscriptions: ${server.url.replace(/^http/, "ws")}; GraphQL IDE there in a browser) · ` +
            `dashboard and playground at ${server.webUrl}\n`,
        );
        stopOnSignal(log, async () => {
          await server.close();
          await services.close();
        });
      }),
    );
}
