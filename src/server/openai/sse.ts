import type { Response } from "express";

/** Server-sent events as OpenAI streams them: `data: <json>` records, then `data: [DONE]`. */
export class EventStream {
  private started = false;

  constructor(private readonly res: Response) {}

  get open(): boolean {
    return this.started;
  }

  /** Headers go out with the first record, so that an error before any output is still a plain JSON error. */
  send(data: object): void {
    if (!this.started) {
      this.res.status(200).set({ "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
      this.res.flushHeaders();
      this.started = true;
    }
    this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  done(): void {
    this.res.end("data: [DONE]\n\n");
  }
}
