import { DhtError, errorCode } from '../errors.js';
import { abortable, linkedTo } from '../runtime/abort.js';
import { inSpan, SpanKind } from '../runtime/telemetry.js';
import { evaluate, type Headers } from './freshness.js';
import { fromHeaderList, type HeaderList } from './header-list.js';
import type { HotKeys } from './hot-keys.js';
import type { InterimListener } from './origin/origin-client.js';
import { varySelection, type ObjectStore } from './object-store.js';
import { NO_RULES, requestRules, worthStoring, type CacheOptions, type CachePolicy, type Evaluation, type RequestRules } from './rfc9111/policy.js';
import { clientNotModified, conditionalHeaders, freshenedHeaders, notModifiedMatches } from './rfc9111/validation.js';
import { PreparedAnswer, type StoredVariant, type Variant } from './stored-variant.js';

/**
 * What the cache needs from the origin: a buffered, size-limited, address-checked GET whose
 * response headers are end-to-end already (the origin client strips hop-by-hop ones).
 */
export interface OriginFetcher {
  fetch(req: {
    url: URL;
    method: 'GET' | 'HEAD';
    headers: Record<string, string>;
    signal?: AbortSignal;
    onInterim?: InterimListener;
  }): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer; url: string }>;
}

export interface CacheRequest {
  /** Canonical absolute URL: the cache key. */
  readonly url: string;
  readonly method: 'GET' | 'HEAD';
  /**
   * Lower-case client headers: what Vary selects on and what goes to the origin. The entry
   * chooses them: every end-to-end field in gateway mode, a fixed few for /cache?url=.
   */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Gateway mode: hears the origin's interim responses (102, 103) to relay them to this
   * client. They never reach the store, and a request that shares another's origin fetch
   * hears none.
   */
  readonly onInterim?: InterimListener;
}

/**
 * HIT fresh from the store, MISS fetched, REVALIDATED by a 304, STALE served because the origin
 * failed (stale-if-error), UPDATING served stale while a revalidation runs (stale-while-revalidate).
 */
export type Outcome = 'HIT' | 'MISS' | 'REVALIDATED' | 'STALE' | 'UPDATING';

export interface CacheResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Empty for HEAD and 304. */
  readonly body: Buffer;
  readonly outcome: Outcome;
  /** The response is in the store now. */
  readonly stored: boolean;
  /** The origin's status when it was asked (for Cache-Status fwd-status). */
  readonly originStatus?: number;
  /** Hot object: entry nodes may keep a copy for `freshForMs`. */
  readonly hot: boolean;
  readonly freshForMs: number;
  /** Answered by another request's trip to the origin, which this one waited for (RFC 9211 `collapsed`). */
  readonly collapsed?: boolean;
  /** Fetched although the URL is stored: no stored variant matched the request's Vary fields (`fwd=vary-miss`). */
  readonly varyMiss?: boolean;
  /**
   * The same fields as `headers` in the list form `res.writeHead` takes, Content-Length
   * included: set by `serveFresh` only, whose `headers` is then built when first read.
   */
  readonly headerList?: HeaderList;
  /** The answer as stored bytes behind its Age (serveFresh only): what the lane writes as it is. */
  readonly prepared?: PreparedAnswer;
}

/**
 * Client fields the cache answers itself and never passes on: its origin fetch asks for the
 * whole current response, to store it (RFC 9111 §4.3.1: the cache adds its own validators).
 */
const ANSWERED_BY_CACHE: ReadonlySet<string> = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range']);

export interface OwnerCacheInit {
  readonly defaultTtlSeconds: number;
  /**
   * Store responses that carry Set-Cookie (CACHE_STORE_SET_COOKIE). Off, they are passed to
   * the client that asked and never stored, so one client's cookie is not replayed to others.
   */
  readonly storeSetCookie: boolean;
  /**
   * The RFC 9213 targeted field this cache obeys before Cache-Control (CACHE_TARGETED_CACHE_CONTROL;
   * CDN-Cache-Control if not given), CDN-Cache-Control after it; neither is passed on downstream.
   */
  readonly targetedCacheControl?: string;
}

/** An origin request that one or more client requests wait for. */
interface InFlight {
  readonly result: Promise<CacheResponse>;
  /** Aborts the origin request once nobody waits for it any more. */
  readonly cancel: AbortController;
  waiters: number;
}

/**
 * The owner's side of the cache: serves a URL from its store or from the origin as RFC 9111 says
 * a shared cache must, with one origin fetch per object at a time.
 */
export class OwnerCache {
  private readonly inFlight = new Map<string, InFlight>();
  /** What this node's store did, over every request it served as owner. */
  readonly counts = { hits: 0, misses: 0, revalidated: 0, staleServed: 0, stores: 0, originFetches: 0 };
  private readonly rfc9111: CacheOptions;

  constructor(
    readonly store: ObjectStore,
    private readonly origin: OriginFetcher,
    readonly hotKeys: HotKeys,
    private readonly init: OwnerCacheInit,
    /** Aborts every origin fetch when the node stops. */
    private readonly shutdown: AbortSignal,
  ) {
    const targets = [...new Set([(init.targetedCacheControl ?? 'cdn-cache-control').toLowerCase(), 'cdn-cache-control'])];
    this.rfc9111 = { targets, defaultTtlSeconds: init.defaultTtlSeconds };
  }

  /**
   * `signal` says the client has gone. An origin fetch outlives the request that started it
   * while other requests wait for it, and is cancelled when the last of them has gone.
   */
  async serve(req: CacheRequest, signal?: AbortSignal): Promise<CacheResponse> {
    const hot = this.hotKeys.hit(req.url);
    const variant = this.store.find(req.url, req.headers);
    const now = Date.now();
    const rules = asksNothing(req) ? NO_RULES : requestRules(req.headers);
    let response: CacheResponse;
    if (variant && rules === NO_RULES && variant.freshAt(now)) {
      response = storedHit(variant, now);
    } else if (variant) {
      const policy = variant.policy;
      if (policy.reuse(rules, now) !== 'revalidate') {
        response = this.fromVariant(variant, policy, 'HIT', now);
      } else if (rules.onlyIfCached) {
        response = ONLY_IF_CACHED;
      } else {
        const key = `${req.url}\n${JSON.stringify(variant.selectedBy)}`;
        const revalidation = (cancel: AbortSignal) => this.revalidate(variant, policy, req, rules, cancel);
        if (rules === NO_RULES && policy.staleWhileRevalidateAllows(now)) {
          // RFC 5861 §3: the stale copy now, while one revalidation that no client waits for
          // (so none cancels it) refreshes the store; its failure leaves the stale copy as it is.
          this.once(key, undefined, revalidation).catch(() => undefined);
          response = this.fromVariant(variant, policy, 'UPDATING', now);
        } else {
          const shared = await this.once(key, signal, revalidation);
          response = shared.leader ? shared.response : (this.sharedAnswer(req, shared.response) ?? (await this.ownTrip(signal, revalidation)));
        }
      }
    } else if (rules.onlyIfCached) {
      response = ONLY_IF_CACHED;
    } else {
      const varyMiss = this.store.has(req.url);
      const shared = await this.once(req.url, signal, (cancel) => this.fetch(req, rules, cancel));
      response = shared.leader ? shared.response : (this.sharedAnswer(req, shared.response) ?? (await this.ownTrip(signal, (cancel) => this.fetch(req, rules, cancel))));
      if (varyMiss) response = { ...response, varyMiss };
    }
    this.count(response);
    return finishForClient({ ...response, hot: hot && response.stored && response.freshForMs > 0 }, req);
  }

  /**
   * What a request that waited for another's origin trip is answered with: the stored response
   * its own headers select, built from the store. Undefined when the trip stored none for it: an
   * unstored answer may be private to the request that fetched it (`private`, a Set-Cookie, a
   * 304's cookie kept out of the store), and another variant is not this one.
   */
  private sharedAnswer(req: CacheRequest, shared: CacheResponse): CacheResponse | undefined {
    const found = shared.stored ? this.store.find(req.url, req.headers) : undefined;
    if (!found) return undefined;
    return { ...this.fromVariant(found, found.policy, shared.outcome, Date.now()), originStatus: shared.originStatus, collapsed: true };
  }

  /** A waiter's own origin trip, when it could not share another's: ends with its client or the node. */
  private ownTrip(signal: AbortSignal | undefined, work: (cancel: AbortSignal) => Promise<CacheResponse>): Promise<CacheResponse> {
    return signal ? linkedTo([this.shutdown, signal], work) : work(this.shutdown);
  }

  /**
   * The fast path for a fresh local hit: a request that asks nothing of the cache (no
   * Cache-Control or Pragma, no conditionals) and a stored variant before its freshness
   * deadline are answered from the prepared header list, without rebuilding its policy and
   * without building a header map. Undefined when `serve` must decide.
   */
  serveFresh(req: CacheRequest): CacheResponse | undefined {
    const { headers } = req;
    if (!asksNothing(req) || headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined) return undefined;
    const variant = this.store.find(req.url, headers);
    const now = Date.now(); // the policy's clock, which set the deadline
    if (variant === undefined || !variant.freshAt(now)) return undefined;
    this.counts.hits++;
    return new FreshHit(variant, now, this.hotKeys.hit(req.url), req.method === 'HEAD');
  }

  private count(response: CacheResponse): void {
    const c = this.counts;
    if (response.outcome === 'HIT') c.hits++;
    else if (response.outcome === 'STALE' || response.outcome === 'UPDATING') c.staleServed++;
    else if (response.outcome === 'REVALIDATED') c.revalidated++;
    else c.misses++;
    if ((response.outcome === 'MISS' || response.outcome === 'REVALIDATED') && response.stored) c.stores++;
  }

  /** Forgets a URL (after an unsafe method changed it at the origin). */
  invalidate(url: string): void {
    this.store.delete(url);
  }

  /**
   * One origin request per key at a time, counted by its waiters; `leader` tells the caller
   * whether it started it. A waiter whose `signal` aborts stops waiting at once; the last one
   * to go cancels the origin request, which nobody would read.
   */
  private async once(key: string, signal: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<CacheResponse>): Promise<{ response: CacheResponse; leader: boolean }> {
    signal?.throwIfAborted();
    let entry = this.inFlight.get(key);
    const leader = entry === undefined;
    if (!entry) {
      const cancel = new AbortController();
      const created: InFlight = { result: linkedTo([this.shutdown], work, cancel), cancel, waiters: 0 };
      created.result.then(
        () => this.forget(key, created),
        () => this.forget(key, created), // each waiter sees the failure through its own await
      );
      this.inFlight.set(key, created);
      entry = created;
    }
    const waiting = entry;
    waiting.waiters++;
    try {
      return { response: await abortable(signal, (resolve, reject) => void waiting.result.then(resolve, reject)), leader };
    } finally {
      if (--waiting.waiters === 0 && this.inFlight.get(key) === waiting) {
        this.forget(key, waiting);
        waiting.cancel.abort(new DhtError('ERR_ABORTED', `every client waiting for ${key.split('\n')[0]} went away`));
      }
    }
  }

  private forget(key: string, entry: InFlight): void {
    if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
  }

  private async fetch(req: CacheRequest, rules: RequestRules, signal: AbortSignal): Promise<CacheResponse> {
    const requestTime = Date.now();
    const res = await this.fetchOrigin(req, {}, signal);
    return this.fromOrigin(req, rules, res, requestTime);
  }

  /**
   * A POST's response as its URL's stored answer to GETs (RFC 9110 §9.3.3, RFC 9111 §4): only
   * with explicit freshness (no default TTL, no heuristics), and only what a GET's response
   * would be stored as. Undefined when it may not be stored. The caller has checked that its
   * Content-Location is the POST's target.
   */
  variantAfterPost(req: CacheRequest, res: { status: number; headers: Headers; body: Buffer }): Variant | undefined {
    const now = Date.now();
    const { variant, judged, selectedBy } = this.variantOf(req, res, now);
    return judged.explicit && this.mayStore(judged, res.headers, selectedBy, NO_RULES, now) ? variant : undefined;
  }

  /** A full response from the origin: stored if it may be, answered either way. */
  private fromOrigin(req: CacheRequest, rules: RequestRules, res: { status: number; headers: Headers; body: Buffer }, requestTime: number): CacheResponse {
    const now = Date.now();
    const { variant, judged, selectedBy } = this.variantOf(req, res, requestTime);
    const stored = this.mayStore(judged, res.headers, selectedBy, rules, now) && this.store.put(variant);
    return { ...this.fromVariant(variant, judged.policy, 'MISS', now), stored, originStatus: res.status };
  }

  /** What the store would keep of a response to `req`, and RFC 9111's judgement of it. */
  private variantOf(req: CacheRequest, res: { status: number; headers: Headers; body: Buffer }, requestTime: number) {
    const judged = evaluate(req.headers, res.status, res.headers, this.rfc9111, requestTime);
    const selectedBy = varySelection(res.headers, req.headers);
    const variant: Variant = { url: req.url, status: res.status, headers: this.forwardable(res.headers), body: res.body, policy: judged.policy, selectedBy: selectedBy ?? {} };
    return { variant, judged, selectedBy };
  }

  private async revalidate(variant: StoredVariant, policy: CachePolicy, req: CacheRequest, rules: RequestRules, signal: AbortSignal): Promise<CacheResponse> {
    const storedHeaders = variant.headers;
    const requestTime = Date.now();
    let res;
    try {
      res = await this.fetchOrigin(req, conditionalHeaders(storedHeaders), signal);
    } catch (err) {
      const code = errorCode(err);
      if ((code === 'ERR_ORIGIN_FAILED' || code === 'ERR_ORIGIN_TIMEOUT') && policy.staleIfErrorAllows(Date.now())) return this.fromVariant(variant, policy, 'STALE', Date.now());
      throw err;
    }
    if (res.status >= 500 && policy.staleIfErrorAllows(Date.now())) return { ...this.fromVariant(variant, policy, 'STALE', Date.now()), originStatus: res.status };
    if (res.status !== 304) {
      const response = this.fromOrigin(req, rules, res, requestTime);
      if (!response.stored) this.store.delete(req.url);
      return response;
    }
    // §4.3.4: a 304 about another response than the one stored says nothing of it: ask for the whole response.
    if (!notModifiedMatches(res.headers, storedHeaders)) return this.fetch(req, rules, signal);
    // The 304's own Date and Age, or none: the stored ones belong to the first response.
    const merged = { ...freshenedHeaders(storedHeaders, res.headers), date: res.headers.date, age: res.headers.age };
    const judged = evaluate(req.headers, variant.status, merged, this.rfc9111, requestTime);
    // A cookie set on revalidation is this client's alone: it gets it, the store keeps none.
    const headers = this.forwardable(merged);
    const { 'set-cookie': cookie, ...withoutCookie } = headers;
    const kept = cookie === undefined || this.init.storeSetCookie ? headers : withoutCookie;
    const { url, status, body, selectedBy } = variant;
    const now = Date.now();
    // A request's no-store leaves the store as it was; a 304 that makes the response unstorable empties it.
    const stored = judged.storable && !rules.noStore && this.store.put({ url, status, body, selectedBy, headers: kept, policy: judged.policy });
    if (!judged.storable) this.store.delete(url);
    return { ...this.fromVariant({ url, status, body, selectedBy, headers }, judged.policy, 'REVALIDATED', now), stored, originStatus: 304 };
  }

  /** Storable, worth it, wanted by the request, and not a response that sets one client's cookie (unless CACHE_STORE_SET_COOKIE). */
  private mayStore(judged: Evaluation, headers: Headers, selectedBy: Record<string, string> | undefined, rules: RequestRules, now: number): boolean {
    if (selectedBy === undefined || rules.noStore || !worthStoring(judged, now)) return false;
    return this.init.storeSetCookie || headers['set-cookie'] === undefined;
  }

  private async fetchOrigin(req: CacheRequest, extra: Record<string, string>, signal: AbortSignal) {
    this.counts.originFetches++;
    // The origin client drops hop-by-hop fields, and credentials unless the origin is the gateway's.
    const headers: Record<string, string> = {};
    for (const name in req.headers) if (!ANSWERED_BY_CACHE.has(name)) headers[name] = req.headers[name]!;
    Object.assign(headers, extra);
    return inSpan('origin fetch', SpanKind.CLIENT, { 'url.full': req.url, 'koorde.conditional': Object.keys(extra).length > 0 }, async (span) => {
      const response = await this.origin.fetch({ url: new URL(req.url), method: 'GET', headers, signal, onInterim: req.onInterim });
      span.setAttribute('http.response.status_code', response.status);
      return response;
    });
  }

  /** `policy` is the variant's, passed so that a stored variant's is not rebuilt twice. */
  private fromVariant(variant: Omit<Variant, 'policy'>, policy: CachePolicy, outcome: Outcome, now: number): CacheResponse {
    const headers: Headers = { ...variant.headers, age: String(Math.floor(policy.ageAt(now))) };
    return { status: variant.status, headers, body: variant.body, outcome, stored: true, hot: false, freshForMs: policy.freshForMs(now) };
  }

  /**
   * The origin's end-to-end headers as the cache passes them on: without its Age (this cache
   * states the age it serves itself) and without the targeted Cache-Control fields meant for
   * this cache (RFC 9213 §2.1).
   */
  private forwardable(headers: Headers): Headers {
    const { age: _age, ...rest } = headers;
    for (const name of this.rfc9111.targets) delete rest[name];
    return rest;
  }
}

/** The request carries no directive of its own (Cache-Control, Pragma) for the policy to weigh. */
function asksNothing(req: CacheRequest): boolean {
  return req.headers['cache-control'] === undefined && req.headers.pragma === undefined;
}

/** A fresh stored variant as a response, its Age counted from the stored figures. */
function storedHit(variant: StoredVariant, now: number): CacheResponse {
  const headers: Headers = { ...variant.headers, age: String(variant.ageAt(now)) };
  return { status: variant.status, headers, body: variant.body, outcome: 'HIT', stored: true, hot: false, freshForMs: variant.freshForMs(now) };
}

/**
 * RFC 9111 §5.2.1.7: a request with only-if-cached that the store cannot answer gets a 504;
 * the origin is not asked (a MISS without an origin status).
 */
const ONLY_IF_CACHED: CacheResponse = {
  status: 504,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ error: 'only_if_cached', message: 'only-if-cached: no stored response may answer this request' })),
  outcome: 'MISS',
  stored: false,
  hot: false,
  freshForMs: 0,
};

/** A fresh hit answered from the stored bytes; the field list and map are built only if something reads them. */
class FreshHit implements CacheResponse {
  readonly status: number;
  readonly outcome = 'HIT';
  readonly stored = true;
  readonly freshForMs: number;
  readonly prepared: PreparedAnswer;

  constructor(
    variant: StoredVariant,
    now: number,
    readonly hot: boolean,
    head: boolean,
  ) {
    this.status = variant.status;
    this.freshForMs = variant.freshForMs(now);
    this.prepared = new PreparedAnswer(['age', String(variant.ageAt(now))], variant, head);
  }

  get headerList(): HeaderList {
    return this.prepared.headerList;
  }

  get body(): Buffer {
    return this.prepared.body;
  }

  get headers(): Headers {
    return fromHeaderList(this.headerList);
  }
}

/** Answers the client's own conditional request (304) and HEAD (no body). */
function finishForClient(response: CacheResponse, req: CacheRequest): CacheResponse {
  if (response.status === 200 && clientNotModified(req.headers, response.headers)) {
    const keep = ['etag', 'last-modified', 'cache-control', 'expires', 'vary', 'date', 'age', 'content-location'];
    const headers = Object.fromEntries(Object.entries(response.headers).filter(([name]) => keep.includes(name)));
    return { ...response, status: 304, headers, body: Buffer.alloc(0) };
  }
  return req.method === 'HEAD' ? { ...response, body: Buffer.alloc(0) } : response;
}
