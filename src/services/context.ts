import type { Logger } from "pino";
import type { InferenceBackend, TrainingBackend } from "../backends/types.js";
import type { Db } from "../db/client.js";
import type { AppConfig } from "./config.js";
import type { EventHub } from "./events.js";
import type { JobQueue } from "./queue.js";

/** How services reach the backends: chosen once by the process (the registry), injected here. */
export interface Backends {
  training(): Promise<TrainingBackend>;
  inference(): Promise<InferenceBackend>;
  close(): Promise<void>;
}

/** What every service function needs; built once per process by `startServices`. */
export interface ServiceContext {
  config: AppConfig;
  prisma: Db;
  hub: EventHub;
  queue: JobQueue;
  backends: Backends;
  log: Logger;
}
