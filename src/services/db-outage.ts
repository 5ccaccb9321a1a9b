// Prisma's codes for "no database": can't reach, timed out, connection closed, pool timeout
const UNREACHABLE_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
// the pg driver adapter's kinds for the same
const UNREACHABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

const PG_CONNECTION_LOST =
  /Connection terminated (unexpectedly|due to connection timeout)|encountered a connection error and is not queryable|timeout exceeded when trying to connect/;

interface MaybeDbError {
  code?: unknown;
  message?: unknown;
  meta?: { driverAdapterError?: { cause?: AdapterCause } };
  cause?: unknown;
}

interface AdapterCause {
  kind?: string;
  originalCode?: string;
}

/**
 * The database could not be reached or went away (an outage, a restart), as opposed to a statement it refused:
 * the same write may succeed later. PostgreSQL's own codes: 08xxx connection exceptions, 57P01-57P03 shutting
 * down / starting up.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as MaybeDbError | null;
  if (!e || typeof e !== "object") return false;
  if (typeof e.code === "string" && (UNREACHABLE_CODES.has(e.code) || /^(08|57P0[123])/.test(e.code))) return true;
  // Prisma wraps the adapter's error in a known request error, or (some statements, e.g. a batch's transaction) throws
  // the adapter's DriverAdapterError itself
  const cause = e.meta?.driverAdapterError?.cause ?? (e instanceof Error && e.name === "DriverAdapterError" ? (e.cause as AdapterCause | undefined) : undefined);
  if (cause && (UNREACHABLE_KINDS.has(cause.kind ?? "") || /^(08|57P0[123])/.test(cause.originalCode ?? ""))) return true;
  // pg's own errors, which the adapter passes through as they are: the server closed the socket under a query, a
  // pooled client whose connection broke, a connect that timed out
  return typeof e.message === "string" && PG_CONNECTION_LOST.test(e.message);
}

/**
 * Run `op`; while the database is unavailable, run it again every `intervalMs` until `patienceMs` have passed since
 * the first failure, then throw the last error. Any other error is thrown at once.
 */
export async function retryWhileUnavailable<T>(op: () => Promise<T>, patienceMs: number, intervalMs = 500): Promise<T> {
  const giveUpAt = Date.now() + patienceMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() + intervalMs > giveUpAt) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
