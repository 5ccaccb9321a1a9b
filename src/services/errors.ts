/** A limit that the request ran into (active runs, concurrent generations, maxNewTokens); the API reports its code. */
export class LimitError extends Error {
  readonly code = "LIMIT_EXCEEDED";
  constructor(message: string) {
    super(message);
    this.name = "LimitError";
  }
}
