import pg from "pg";
import type { EvalMetric, TrainingMetric } from "../backends/types.js";

const CHANNEL = "tunegraph_events";
// NOTIFY payloads are limited to 8000 bytes
const MAX_MESSAGE = 2000;

/** A run's status as clients see it: the stored one, or CANCELLING for a RUNNING run asked to stop (run-status.ts). */
export type RunStatusName = "QUEUED" | "RUNNING" | "CANCELLING" | "SUCCEEDED" | "FAILED" | "CANCELLED" | "INTERRUPTED";

export type MetricPayload = TrainingMetric & { at: string };
/** An evaluation as events and the database carry it (HF's figures less eval_steps_per_second and perplexity, derived). */
export type EvalPayload = Omit<EvalMetric, "evalStepsPerSecond" | "perplexity"> & { at: string };

/** What crosses processes: run progress for subscribers, and control messages for workers. */
export type HubEvent =
  | { type: "status"; runId: string; status: RunStatusName; currentStep: number; maxSteps: number; error: string | null; at: string }
  | { type: "metric"; runId: string; metric: MetricPayload }
  | { type: "checkpoint"; runId: string; id: string; step: number; path: string; at: string }
  | { type: "eval"; runId: string; eval: EvalPayload }
  | { type: "log"; runId: string; level: "INFO" | "WARN" | "ERROR"; message: string; at: string }
  | { type: "cancel"; runId: string };

type Listener = (e: HubEvent) => void;

/**
 * Events over PostgreSQL LISTEN/NOTIFY: every process (API or worker) that publishes or listens holds one connection
 * for each. A process hears its own events through the database too, so all listeners see one order per publisher.
 */
export class EventHub {
  private listener: pg.Client | null = null;
  private publisher: pg.Client | null = null;
  private readonly listeners = new Set<Listener>();
  private chain: Promise<void> = Promise.resolve();
  private reconnecting: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly log: (msg: string, err?: unknown) => void = () => {},
  ) {}

  async start(): Promise<void> {
    await this.publisherClient();
    await this.listen();
  }

  /** The publishing connection, opened again after it was lost. */
  private async publisherClient(): Promise<pg.Client> {
    if (this.publisher) return this.publisher;
    const client = new pg.Client({ connectionString: this.url });
    client.on("error", (err) => {
      if (this.publisher !== client) return;
      this.publisher = null;
      void client.end().catch(() => undefined);
      this.log("event publisher connection lost", err);
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.publisher = client;
    return client;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("notification", (n) => {
      if (n.channel !== CHANNEL || !n.payload) return;
      const event = JSON.parse(n.payload) as HubEvent;
      for (const l of this.listeners) l(event);
    });
    client.on("error", (err) => {
      // pg reports a lost connection more than once (the server's shutdown notice, then the closed socket): only the
      // first, on the connection in use, reconnects; one reconnect, one LISTEN, each event heard once
      if (this.listener !== client) return;
      this.listener = null;
      void client.end().catch(() => undefined);
      this.log("event listener connection lost; reconnecting", err);
      this.reconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end();
      return;
    }
    this.listener = client;
  }

  /** Listen again after a second, and keep trying while the database is away. */
  private reconnect(): void {
    if (this.closed) return;
    this.reconnecting = setTimeout(() => {
      this.reconnecting = null;
      this.listen().catch((err) => {
        this.log("event listener reconnect failed", err);
        this.reconnect();
      });
    }, 1000);
  }

  /**
   * Publishes in call order (one connection, one queue). Never rejects: an event that cannot be sent (the database is
   * away) is logged and lost; what it tells is in the database, where subscribers read the state they start from.
   */
  publish(event: HubEvent): Promise<void> {
    if (event.type === "log" && event.message.length > MAX_MESSAGE) {
      event = { ...event, message: event.message.slice(0, MAX_MESSAGE) + "…" };
    }
    const payload = JSON.stringify(event);
    this.chain = this.chain
      .then(async () => {
        if (this.closed) return;
        await (await this.publisherClient()).query("SELECT pg_notify($1, $2)", [CHANNEL, payload]);
      })
      .catch((err) => this.log("event publish failed", err));
    return this.chain;
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnecting) clearTimeout(this.reconnecting);
    await this.chain;
    this.listeners.clear();
    await Promise.all([this.listener?.end(), this.publisher?.end()].map((p) => p?.catch(() => undefined)));
  }
}
