import { DhtError } from '../errors.js';
import { inSpan, SpanKind, tracingOn } from '../runtime/telemetry.js';
import type { ForwardOptions } from './cache-peers.js';
import type { Variant } from './stored-variant.js';
import type { CacheRequest, CacheResponse, OwnerCache } from './owner-cache.js';
import type { OwnerLocator } from './owner-locator.js';

/**
 * The owner's side of the peer calls, one for every transport: the HTTP peer server, the gRPC
 * control service and the in-memory peers all call this, after checking the bytes they got.
 */
export interface OwnerEndpoint {
  /** Answers a forwarded request; ERR_NOT_OWNER when a route-cache hit reached a former owner. */
  serve(req: CacheRequest, options: ForwardOptions): Promise<CacheResponse>;
  /**
   * What `serve` would answer, when that is a fresh hit it can give at once and tracing is off;
   * undefined otherwise (then `serve` must run). Spares the common case a promise and a span.
   */
  serveFresh(req: CacheRequest, options: ForwardOptions): CacheResponse | undefined;
  /** Keeps objects a previous owner handed over: only those this node owns or replicates. */
  accept(variants: readonly Variant[]): Promise<void>;
  invalidate(url: string): void;
}

export class CacheOwnerEndpoint implements OwnerEndpoint {
  constructor(
    private readonly owner: OwnerCache,
    private readonly locator: OwnerLocator,
  ) {}

  serve(req: CacheRequest, options: ForwardOptions): Promise<CacheResponse> {
    if (options.fromRouteCache && !this.locator.owns(this.locator.keyOf(req.url))) {
      return Promise.reject(new DhtError('ERR_NOT_OWNER', `${req.url.slice(0, 64)} is not in this node's range any more`));
    }
    return inSpan('cache serve', SpanKind.SERVER, { 'url.full': req.url }, async (span) => {
      const response = await this.owner.serve(req, options.signal);
      span.setAttributes({ 'koorde.outcome': response.outcome, 'koorde.stored': response.stored, 'koorde.hot': response.hot });
      return response;
    });
  }

  serveFresh(req: CacheRequest, options: ForwardOptions): CacheResponse | undefined {
    if (tracingOn() || (options.fromRouteCache && !this.locator.owns(this.locator.keyOf(req.url)))) return undefined;
    return this.owner.serveFresh(req);
  }

  async accept(variants: readonly Variant[]): Promise<void> {
    // Only objects this node is responsible for: anyone else's would poison its cache.
    for (const variant of variants) {
      if (!(await this.locator.covers(this.locator.keyOf(variant.url)))) {
        throw new DhtError('ERR_NOT_OWNER', `${variant.url.slice(0, 64)} is neither owned nor replicated by this node`);
      }
    }
    for (const variant of variants) this.owner.store.put(variant);
  }

  invalidate(url: string): void {
    this.owner.invalidate(url);
  }
}
