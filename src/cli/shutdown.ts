import type { Logger } from "pino";

/**
 * On the first SIGINT or SIGTERM, run `close` (which stops things in order: HTTP, subscriptions, workers, queue,
 * listeners, then the database) and exit 0; a second signal exits at once with the signal's code.
 */
export function stopOnSignal(log: Logger, close: () => Promise<void>): void {
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, "shutting down");
    process.once(signal, () => process.exit(signal === "SIGINT" ? 130 : 143));
    close().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
