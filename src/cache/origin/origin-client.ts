import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { DhtError } from '../../errors.js';
import { linkedTo } from '../../runtime/abort.js';
import { wallClock, type Clock } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../runtime/logger.js';
import type { FetchLimiter } from './fetch-limiter.js';
import type { OriginPolicy } from './address-policy.js';
import { originRequestHeaders, stripHopByHop, TOKEN, type HeaderMap } from './headers.js';

export { originRequestHeaders, stripHopByHop, type HeaderMap, type OriginHeaderOptions } from './headers.js';

/** @default values of OriginClientInit. */
export const ORIGIN_CONNECT_TIMEOUT_MS = 5_000;
export const ORIGIN_HEADERS_TIMEOUT_MS = 10_000;
export const ORIGIN_BODY_TIMEOUT_MS = 10_000;
export const ORIGIN_TOTAL_TIMEOUT_MS = 30_000;
export const ORIGIN_MAX_BODY_BYTES = 16 * 1024 * 1024;
export const ORIGIN_MAX_REDIRECTS = 5;

/**
 * undici checks the headers and body timeouts on a coarse clock (about once a second), so a
 * timeout fires up to about a second late; the connect timeout is exact.
 */
export interface OriginClientInit {
  /** Which addresses may be connected to (except the gateway origin). */
  readonly policy: OriginPolicy;
  /**
   * The gateway origin (CACHE_ORIGIN), chosen by the operator: requests to it skip the address
   * check, and Cookie and Authorization are passed on. Trust comes only from this setting,
   * compared with each request's own URL, never from a flag a caller or a peer sets.
   */
  readonly gatewayOrigin?: URL;
  /** Time to set up TCP (and TLS). @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Time from sending the request to the end of the response headers. @default 10000 */
  readonly headersTimeoutMs?: number;
  /** Longest pause between two pieces of the body (not a limit on the whole body). @default 10000 */
  readonly bodyTimeoutMs?: number;
  /**
   * Deadline of a whole `fetch`, redirects and body included: a trickling origin that never
   * pauses for bodyTimeoutMs cannot hold a slot and a buffer forever. @default 30000
   */
  readonly totalTimeoutMs?: number;
  /** Bounds on origin requests in flight; none when absent. */
  readonly limiter?: FetchLimiter;
  /** Runs the total deadline. @default wallClock */
  readonly clock?: Clock;
  /** Larger bodies are refused with ERR_TOO_LARGE while they stream in. @default 16 MiB */
  readonly maxBodyBytes?: number;
  /** Redirects `fetch` follows before it gives up with ERR_ORIGIN_FAILED. @default 5 */
  readonly maxRedirects?: number;
  /** Name resolution; tests inject a fake DNS here. @default dns.lookup */
  readonly lookup?: LookupFunction;
  /** Where a refused origin's resolved address is reported (the client is not told it). @default silent */
  readonly logger?: Logger;
}

export interface OriginRequest {
  readonly url: URL;
  readonly method: 'GET' | 'HEAD';
  /** The client's request headers (node:http's req.headers will do); see originRequestHeaders for what is passed on. */
  readonly headers: HeaderMap;
  /** Overrides OriginClientInit.maxRedirects for this request (0: hand 3xx back to the caller). */
  readonly maxRedirects?: number;
  readonly signal?: AbortSignal;
  /** Hears the origin's interim (1xx) responses, end-to-end headers only. */
  readonly onInterim?: InterimListener;
}

/** Hears an interim (1xx) response (RFC 9110 §15.2) before the final one. */
export type InterimListener = (status: number, headers: Record<string, string | string[]>) => void;

export interface OriginResponse {
  readonly status: number;
  /** End-to-end headers, names in lower case. */
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
  /** The URL that answered, after redirects. */
  readonly url: string;
}

export interface PassThroughRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: HeaderMap;
  /** Streamed to the origin as it arrives. */
  readonly body?: Readable;
  readonly signal?: AbortSignal;
  readonly onInterim?: InterimListener;
}

export interface PassThroughResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  /** The origin's body as it arrives; its errors are DhtErrors. Destroying it aborts the request. */
  readonly body: Readable;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches from origins without letting a URL reach what it must not: http(s) only, the address
 * checked after DNS at connect time (so DNS rebinding finds nothing between check and use),
 * every redirect re-checked, bodies bounded while they stream, and every failure an
 * ERR_ORIGIN_* / ERR_TOO_LARGE / ERR_INVALID_ARGUMENT / ERR_ABORTED DhtError.
 */
export class OriginClient {
  readonly #policy: OriginPolicy;
  /** `scheme://host:port` of the gateway origin, or undefined outside gateway mode. */
  readonly #gatewayOrigin: string | undefined;
  /** Connections made for untrusted requests, every one checked by the policy after DNS. */
  readonly #guarded: Agent;
  /** Connections to the trusted gateway origin: kept apart so no unchecked socket serves an untrusted request. */
  readonly #trusted: Agent;
  readonly #connectTimeoutMs: number;
  readonly #headersTimeoutMs: number;
  readonly #bodyTimeoutMs: number;
  readonly #maxBodyBytes: number;
  readonly #maxRedirects: number;
  readonly #logger: Logger;
  readonly #totalTimeoutMs: number;
  readonly #limiter: FetchLimiter | undefined;
  readonly #clock: Clock;

  constructor(init: OriginClientInit) {
    this.#policy = init.policy;
    this.#gatewayOrigin = init.gatewayOrigin?.origin;
    this.#connectTimeoutMs = init.connectTimeoutMs ?? ORIGIN_CONNECT_TIMEOUT_MS;
    this.#headersTimeoutMs = init.headersTimeoutMs ?? ORIGIN_HEADERS_TIMEOUT_MS;
    this.#bodyTimeoutMs = init.bodyTimeoutMs ?? ORIGIN_BODY_TIMEOUT_MS;
    this.#maxBodyBytes = init.maxBodyBytes ?? ORIGIN_MAX_BODY_BYTES;
    this.#maxRedirects = init.maxRedirects ?? ORIGIN_MAX_REDIRECTS;
    this.#logger = init.logger ?? silentLogger;
    this.#totalTimeoutMs = init.totalTimeoutMs ?? ORIGIN_TOTAL_TIMEOUT_MS;
    this.#limiter = init.limiter;
    this.#clock = init.clock ?? wallClock;
    const lookup = init.lookup ?? (dnsLookup as LookupFunction);
    const agent = (lookupFn: LookupFunction) =>
      new Agent({
        connect: { timeout: this.#connectTimeoutMs, lookup: lookupFn },
        headersTimeout: this.#headersTimeoutMs,
        bodyTimeout: this.#bodyTimeoutMs,
      });
    this.#guarded = agent(guardedLookup(this.#policy, lookup));
    this.#trusted = agent(lookup);
  }

  /**
   * GET or HEAD with redirects followed; the whole body in memory (at most maxBodyBytes). A
   * HEAD whose Content-Length is over the limit is refused too, as the GET would be.
   */
  async fetch(req: OriginRequest): Promise<OriginResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new DhtError('ERR_INVALID_ARGUMENT', `origin fetches are GET or HEAD, not ${String(req.method)}`);
    checkScheme(req.url, 'ERR_INVALID_ARGUMENT', 'only http and https URLs are fetched');
    const release = await this.#limiter?.acquire(req.url.origin, req.signal);
    const deadline = new AbortController();
    const timer = this.#clock.setTimeout(
      () => deadline.abort(new DhtError('ERR_ORIGIN_TIMEOUT', `origin ${req.url.host} did not send the whole response within ${this.#totalTimeoutMs} ms`)),
      this.#totalTimeoutMs,
    );
    try {
      return await linkedTo([req.signal], (signal) => this.#fetchFollowing({ ...req, signal }), deadline);
    } finally {
      timer.cancel();
      release?.();
    }
  }

  async #fetchFollowing(req: OriginRequest): Promise<OriginResponse> {
    // A reverse proxy hands its origin's redirects to the client: the gateway never follows one to another host.
    const maxRedirects = this.#isGateway(req.url) ? 0 : (req.maxRedirects ?? this.#maxRedirects);
    let url = req.url;
    for (let redirects = 0; ; redirects++) {
      // Every hop so far at the gateway origin: a redirect from elsewhere earns no trust.
      const trusted = this.#isGateway(req.url) && this.#isGateway(url);
      const headers = originRequestHeaders(req.headers, { trusted, hasBody: false });
      const res = await this.#send(url, { method: req.method, headers, trusted, signal: req.signal, onInterim: req.onInterim });
      const location = REDIRECTS.has(res.statusCode) ? firstValue(res.headers['location']) : undefined;
      if (location === undefined || maxRedirects === 0) {
        const body = await this.#readBody(res, url, req.signal);
        return { status: res.statusCode, headers: stripHopByHop(res.headers), body, url: url.href };
      }
      // Redirect bodies are tiny or empty; reading them keeps the connection reusable.
      await res.body.dump().catch(() => undefined);
      if (redirects >= maxRedirects) throw new DhtError('ERR_ORIGIN_FAILED', `too many redirects: ${req.url.href} redirected more than ${maxRedirects} times`);
      // The method stays: 303 turns other methods into GET, but fetch only has GET and HEAD,
      // and for HEAD a HEAD answers the same question.
      url = resolveLocation(location, url);
    }
  }

  /**
   * Any method, body streamed both ways and nothing buffered or followed (gateway mode's unsafe
   * methods and Range requests). The policy and the credential rule apply unless the URL is
   * at the gateway origin.
   */
  async passThrough(req: PassThroughRequest): Promise<PassThroughResponse> {
    checkScheme(req.url, 'ERR_INVALID_ARGUMENT', 'only http and https URLs are fetched');
    const method = req.method.toUpperCase();
    if (!TOKEN.test(method) || method === 'CONNECT') throw new DhtError('ERR_INVALID_ARGUMENT', `method "${req.method}" cannot be passed to an origin`);
    const trusted = this.#isGateway(req.url);
    const headers = originRequestHeaders(req.headers, { trusted, hasBody: req.body !== undefined });
    const release = await this.#limiter?.acquire(req.url.origin, req.signal);
    try {
      const res = await this.#send(req.url, { method, headers, trusted, signal: req.signal, body: req.body, onInterim: req.onInterim });
      const body = relay(res.body, (err) => this.#explain(err, req.url, req.signal));
      if (release) body.once('close', release); // the slot is held while the body streams
      return { status: res.statusCode, headers: stripHopByHop(res.headers), body };
    } catch (err) {
      release?.();
      throw err;
    }
  }

  /**
   * Scheme, host and port equal to the configured gateway origin's. URL parsing has already
   * normalised the spelling (case, default port), so string equality is exact.
   */
  #isGateway(url: URL): boolean {
    return this.#gatewayOrigin !== undefined && url.origin === this.#gatewayOrigin;
  }

  /** Closes the pooled connections once the requests in flight are done. */
  async close(): Promise<void> {
    await Promise.all([this.#guarded.close(), this.#trusted.close()]);
  }

  async #send(
    url: URL,
    options: {
      method: string;
      headers: Record<string, string | string[]>;
      trusted: boolean;
      signal?: AbortSignal | undefined;
      body?: Readable | undefined;
      onInterim?: InterimListener | undefined;
    },
  ): Promise<Dispatcher.ResponseData> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // An IP literal is connected to without a lookup, so the connect-time check never sees it.
    if (!options.trusted && isIP(host) !== 0) this.#policy.check(host, host);
    const dispatcher = options.trusted ? this.#trusted : this.#guarded;
    try {
      return await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: options.method as Dispatcher.HttpMethod,
        headers: options.headers,
        body: options.body ?? null,
        signal: options.signal,
        onInfo: options.onInterim && (({ statusCode, headers }) => options.onInterim!(statusCode, stripHopByHop(headers))),
      });
    } catch (err) {
      const explained = this.#explain(err, url, options.signal);
      if (explained.code === 'ERR_ORIGIN_FORBIDDEN' && explained.cause instanceof Error) {
        this.#logger.warn({ origin: url.origin, detail: explained.cause.message }, 'refused an origin at an internal address');
      }
      throw explained;
    }
  }

  async #readBody(res: Dispatcher.ResponseData, url: URL, signal: AbortSignal | undefined): Promise<Buffer> {
    if (res.statusCode === 304) {
      // A 304 has no content (RFC 9110 §15.4.5); its Content-Length describes the stored
      // representation (RFC 9111 §4.3.4), which undici would take for a truncated body.
      await res.body.dump().catch(() => undefined);
      return Buffer.alloc(0);
    }
    const declared = Number(firstValue(res.headers['content-length']) ?? NaN);
    if (declared > this.#maxBodyBytes) {
      // Destroying an unread undici body emits its abort error: nobody else listens, so swallow it here.
      res.body.on('error', () => undefined).destroy();
      throw this.#tooLarge(url, `says Content-Length ${declared}`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        total += chunk.length;
        // Leaving the loop destroys the body, which closes the connection: the rest is never read.
        if (total > this.#maxBodyBytes) throw this.#tooLarge(url, `sent more than ${this.#maxBodyBytes} bytes`);
        chunks.push(chunk);
      }
    } catch (err) {
      throw this.#explain(err, url, signal);
    }
    return Buffer.concat(chunks, total);
  }

  #tooLarge(url: URL, what: string): DhtError {
    return new DhtError('ERR_TOO_LARGE', `origin response for ${url.href} ${what}; the limit is ${this.#maxBodyBytes} bytes (CACHE_MAX_OBJECT_MB)`);
  }

  /** Any failure of a request or its body, as the DhtError a caller can act on. */
  #explain(err: unknown, url: URL, signal: AbortSignal | undefined): DhtError {
    if (err instanceof DhtError) return err;
    // The total deadline aborts with its own ERR_ORIGIN_TIMEOUT; a caller's abort is a cancellation.
    if (signal?.aborted) return signal.reason instanceof DhtError ? signal.reason : new DhtError('ERR_ABORTED', `request to origin ${url.origin} was cancelled`, { cause: err });
    const code = (err as { code?: unknown }).code;
    const fail = (c: 'ERR_ORIGIN_TIMEOUT' | 'ERR_ORIGIN_FAILED' | 'ERR_INVALID_ARGUMENT', message: string) => new DhtError(c, message, { cause: err });
    switch (code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
      case 'ETIMEDOUT':
        return fail('ERR_ORIGIN_TIMEOUT', `origin ${url.host} did not accept a connection within ${this.#connectTimeoutMs} ms`);
      case 'UND_ERR_HEADERS_TIMEOUT':
        return fail('ERR_ORIGIN_TIMEOUT', `origin ${url.host} sent no response headers within ${this.#headersTimeoutMs} ms`);
      case 'UND_ERR_BODY_TIMEOUT':
        return fail('ERR_ORIGIN_TIMEOUT', `origin ${url.host} paused for more than ${this.#bodyTimeoutMs} ms while sending the body`);
      case 'UND_ERR_INVALID_ARG':
        return fail('ERR_INVALID_ARGUMENT', `cannot send this request to origin ${url.host}: ${(err as Error).message}`);
      case 'ECONNREFUSED':
        return fail('ERR_ORIGIN_FAILED', `origin ${url.host} refused the connection`);
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return fail('ERR_ORIGIN_FAILED', `origin host ${url.hostname} could not be resolved`);
      case 'ECONNRESET':
      case 'EPIPE':
      case 'UND_ERR_SOCKET':
      case 'UND_ERR_CLOSED':
        return fail('ERR_ORIGIN_FAILED', `origin ${url.host} closed the connection before the response was complete`);
      default:
        return fail('ERR_ORIGIN_FAILED', `origin ${url.host} failed: ${(err as Error).message ?? String(err)}`);
    }
  }
}

/**
 * dns.lookup that lets the connection use only addresses the policy permits; when none is
 * left, the connection fails with the policy's ERR_ORIGIN_FORBIDDEN for the first one. Node
 * asks for all addresses (`all: true`, happy eyeballs) or for one; both forms are served.
 */
export function guardedLookup(policy: OriginPolicy, lookup: LookupFunction = dnsLookup as LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, result) => {
      if (err) return callback(err, '', 0);
      const addresses = result as LookupAddress[];
      const permitted = addresses.filter((a) => policy.permits(hostname, a.address));
      if (permitted.length === 0) {
        try {
          if (addresses[0] === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
          policy.check(hostname, addresses[0].address);
        } catch (refusal) {
          return callback(refusal as NodeJS.ErrnoException, '', 0);
        }
      }
      if (options.all) callback(null, permitted);
      else callback(null, permitted[0]!.address, permitted[0]!.family);
    });
  };
}

/**
 * `body` re-emitted with its errors explained, and with back-pressure both ways. Destroying
 * the result destroys `body` at once, which aborts the origin request.
 */
function relay(body: Readable, explain: (err: unknown) => Error): Readable {
  const out = new Readable({
    read: () => void body.resume(),
    destroy: (err, callback) => {
      body.destroy();
      callback(err);
    },
  });
  body.on('data', (chunk: Buffer) => {
    if (!out.push(chunk)) body.pause();
  });
  body.on('end', () => out.push(null));
  body.on('error', (err) => out.destroy(explain(err)));
  return out;
}

function checkScheme(url: URL, code: 'ERR_INVALID_ARGUMENT' | 'ERR_ORIGIN_FORBIDDEN', why: string): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DhtError(code, `${url.protocol} URL refused (${url.href}): ${why}`);
}

/** The next URL of a redirect, refused if it leaves http(s). */
function resolveLocation(location: string, base: URL): URL {
  let next: URL;
  try {
    next = new URL(location, base);
  } catch (err) {
    throw new DhtError('ERR_ORIGIN_FAILED', `origin ${base.host} redirected to an invalid location "${location}"`, { cause: err });
  }
  checkScheme(next, 'ERR_ORIGIN_FORBIDDEN', `origin ${base.host} redirected away from http(s)`);
  return next;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
