import type { Command } from "commander";
import { pino } from "pino";
import { createBackends } from "../../backends/registry.js";
import { loadConfig } from "../../services/config.js";
import { startServices } from "../../services/start.js";
import { action, int } from "../action.js";
import { stopOnSignal } from "../shutdown.js";

interface WorkerFlags {
  concurrency?: number;
  dataDir?: string;
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("run training and merge jobs from the shared database (any number of workers, on any machine)")
    .option("--concurrency <n>", "training jobs at once in this process (env TUNEGRAPH_TRAINING_CONCURRENCY, default 1)", int("--concurrency", 1, 1024))
    .option("--data-dir <dir>", "data directory (env TUNEGRAPH_DATA_DIR, default ./.data)")
    .action(
      action(async (flags: WorkerFlags) => {
        const env = { ...process.env, ...(flags.dataDir ? { TUNEGRAPH_DATA_DIR: flags.dataDir } : {}) };
        const config = loadConfig(env, flags.concurrency !== undefined ? { trainingConcurrency: flags.concurrency } : {});
        const log = pino({ name: "tunegraph-worker", level: process.env.TUNEGRAPH_LOG_LEVEL ?? "info" });
        const backends = createBackends({ onnx: { maxNewTokens: config.limits.maxNewTokens } });
        const services = await startServices(config, backends, { worker: true, demo: false, log });
        process.stdout.write(`tunegraph: worker ${process.pid} waiting for jobs (${config.trainingConcurrency} training at once)\n`);
        stopOnSignal(log, services.close);
      }),
    );
}
