/** A limit that the request ran into (active runs, concurrent generations, maxNewTokens); the API reports its code. */
export class LimitError extends Error {
  readonly code = "LIMIT_EXCEEDED";
  constructor(message: string) {
    super(message);
    this.name = "LimitError";
  }
}

/** Content larger than a configured size (an uploaded file): HTTP 413. */
export class TooLargeError extends Error {
  readonly code = "PAYLOAD_TOO_LARGE";
  constructor(message: string) {
    super(message);
    this.name = "TooLargeError";
  }
}
