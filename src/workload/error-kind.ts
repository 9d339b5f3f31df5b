/**
 * Why a request did not succeed, as the summary counts it: `http_<status>` for a 4xx/5xx answer,
 * otherwise the transport failure. Only 2xx and 3xx answers are successes.
 */
export type ErrorKind = `http_${number}` | 'timeout' | 'connection_refused' | 'connection_reset' | 'other';

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 400;
}

export function httpErrorKind(status: number): ErrorKind {
  return `http_${status}`;
}

// undici's own codes beside Node's socket errors; a request's overall deadline aborts with a
// DOMException named TimeoutError (AbortSignal.timeout).
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);

/** The kind of a transport failure, looking through `cause` chains (fetch-style wrappers). */
export function transportErrorKind(error: unknown): ErrorKind {
  for (let e = error, depth = 0; e instanceof Object && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (name === 'TimeoutError' || (typeof code === 'string' && TIMEOUT_CODES.has(code))) return 'timeout';
    if (code === 'ECONNREFUSED') return 'connection_refused';
    if (typeof code === 'string' && RESET_CODES.has(code)) return 'connection_reset';
  }
  return 'other';
}
