/**
 * Every failure the system reports carries a stable code. This table is the one place that
 * says how each code reaches a gRPC client (status number) and an HTTP client (status code).
 */
export const ERROR_CODES = {
  /** A remote call got no answer within its deadline. */
  ERR_TIMEOUT: { grpc: 4 /* DEADLINE_EXCEEDED */, http: 504 },
  /** The peer refused the connection or is gone. */
  ERR_UNREACHABLE: { grpc: 14 /* UNAVAILABLE */, http: 503 },
  /** The caller gave up (shutdown or its own cancellation). */
  ERR_ABORTED: { grpc: 1 /* CANCELLED */, http: 503 },
  /** Every candidate next hop of a lookup failed. */
  ERR_LOOKUP_FAILED: { grpc: 14, http: 503 },
  /** A lookup used its whole hop budget: the ring is inconsistent or changing fast. */
  ERR_HOP_BUDGET: { grpc: 14, http: 503 },
  /** This node has not joined a ring yet, or is leaving it. */
  ERR_NOT_READY: { grpc: 14, http: 503 },
  ERR_NOT_FOUND: { grpc: 5 /* NOT_FOUND */, http: 404 },
  ERR_INVALID_ARGUMENT: { grpc: 3 /* INVALID_ARGUMENT */, http: 400 },
  /** A put reached fewer replicas than it needs to be acknowledged. */
  ERR_NOT_REPLICATED: { grpc: 14, http: 503 },
  /** The origin's address is internal (loopback, private, link-local, …) and not allow-listed. */
  ERR_ORIGIN_FORBIDDEN: { grpc: 7 /* PERMISSION_DENIED */, http: 403 },
  /** The object is larger than CACHE_MAX_OBJECT_MB. */
  ERR_TOO_LARGE: { grpc: 8 /* RESOURCE_EXHAUSTED */, http: 413 },
  /** The origin failed: refused, reset, bad response, too many redirects. */
  ERR_ORIGIN_FAILED: { grpc: 14, http: 502 },
  /** The origin did not connect, answer or finish its body in time. */
  ERR_ORIGIN_TIMEOUT: { grpc: 4, http: 504 },
  /** An entry's cached route is stale: the node asked does not own the key (any more). */
  ERR_NOT_OWNER: { grpc: 9 /* FAILED_PRECONDITION */, http: 503 },
  /** Too many origin requests in flight or waiting: the node sheds load; try again later. */
  ERR_OVERLOADED: { grpc: 8 /* RESOURCE_EXHAUSTED */, http: 503 },
  /** A bug or an unexpected failure inside a node. */
  ERR_INTERNAL: { grpc: 13 /* INTERNAL */, http: 500 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class DhtError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DhtError';
    this.code = code;
  }
}

/** The code of any thrown value; foreign errors count as internal. */
export function errorCode(err: unknown): ErrorCode {
  return err instanceof DhtError ? err.code : 'ERR_INTERNAL';
}

const RETRYABLE = new Set<ErrorCode>([
  'ERR_TIMEOUT',
  'ERR_UNREACHABLE',
  'ERR_NOT_READY',
  'ERR_INTERNAL',
  'ERR_LOOKUP_FAILED',
  'ERR_HOP_BUDGET',
  'ERR_NOT_OWNER',
]);

/**
 * Failures of peers or of a ring in flux, after which another peer or a later round may
 * succeed — as opposed to bad input or shutdown, which no retry mends. Only a DhtError
 * qualifies: a peer's error arrives as one (ERR_INTERNAL when the peer failed inside), and so
 * does a transport failure; an exception of this node's own code (a TypeError, a RangeError)
 * is a bug here, which the next candidate would only meet again.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof DhtError && RETRYABLE.has(err.code);
}
