import { request } from 'undici';

export interface HttpAnswer {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  /** From sending the request to the end of the body, as this client saw it. */
  readonly latencyMs: number;
}

/** A failed call to a node's HTTP API, said the way a person would say it. */
export class CacheClientError extends Error {
  constructor(
    readonly kind: 'unreachable' | 'timeout' | 'invalid input' | 'failed' | `HTTP ${number}`,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CacheClientError';
  }
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_SOCKET: 'connection closed',
};

/** The HTTP API of one node (docs/api.md), each call with a deadline. */
export class CacheHttpClient {
  readonly base: string;

  /** @throws CacheClientError 'invalid input' unless `base` is an http(s) URL. */
  constructor(
    base: string,
    private readonly timeoutMs: number,
  ) {
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new CacheClientError('invalid input', `"${base}" is not a URL (e.g. http://localhost:8080)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CacheClientError('invalid input', `"${base}" is not an http(s) URL`);
    this.base = url.href.replace(/\/+$/, '');
  }

  /** GET /cache?url=…: any status is an answer, since the origin's 404 is as cacheable as its 200. */
  cache(url: string): Promise<HttpAnswer> {
    return this.get(`/cache?url=${encodeURIComponent(url)}`);
  }

  /** GET of a JSON API path; `okStatuses` are answers too (503 is what /health says when not ready). */
  async json<T>(path: string, okStatuses: readonly number[] = []): Promise<{ status: number; value: T }> {
    const answer = await this.get(path, { accept: 'application/json' });
    if (answer.status >= 400 && !okStatuses.includes(answer.status)) throw httpError(answer);
    try {
      return { status: answer.status, value: JSON.parse(answer.body.toString('utf8')) as T };
    } catch (err) {
      throw new CacheClientError('failed', `${this.base}${path} answered ${answer.status} with something that is not JSON`, { cause: err });
    }
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    const started = performance.now();
    try {
      const res = await request(`${this.base}${path}`, { method: 'GET', headers, signal: AbortSignal.timeout(this.timeoutMs) });
      const body = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers, body, latencyMs: performance.now() - started };
    } catch (err) {
      const e = err as { name?: string; code?: string };
      if (e.name === 'TimeoutError') throw new CacheClientError('timeout', `no answer from ${this.base} within ${this.timeoutMs} ms`, { cause: err });
      const why = SOCKET_ERRORS[e.code ?? ''];
      if (why) throw new CacheClientError('unreachable', `could not reach ${this.base} (${why})`, { cause: err });
      throw new CacheClientError('failed', `request to ${this.base} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** A node's error answer: its JSON `{error, message}` if it sent one, else the start of the body. */
export function httpError(answer: HttpAnswer): CacheClientError {
  const text = answer.body.toString('utf8');
  let detail = text.slice(0, 200).trim();
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof parsed.error === 'string') detail = typeof parsed.message === 'string' ? `${parsed.error}: ${parsed.message}` : parsed.error;
  } catch {
    // Not JSON (a proxy's HTML page, say): the start of the body is the best explanation there is.
  }
  return new CacheClientError(`HTTP ${answer.status}`, detail || '(empty body)');
}
