import { sameNode, type NodeRef } from '../id/node-ref.js';
import { DhtError, errorCode, isRetryable } from '../errors.js';
import type { Clock } from '../runtime/clock.js';
import { LogHistogram } from '../runtime/histogram.js';
import type { Logger } from '../runtime/logger.js';
import type { CachePeers } from './cache-peers.js';
import type { ResponseHead } from './cache-wire.js';
import type { Headers } from './freshness.js';
import { fromHeaderList, type HeaderList } from './header-list.js';
import { HotCopies } from './hot-copies.js';
import type { CacheRequest, OwnerCache } from './owner-cache.js';
import type { OwnerLocator } from './owner-locator.js';
import { RouteCache, type Route } from './route-cache.js';
import type { PreparedAnswer, StoredVariant } from './stored-variant.js';
import type { RangeData } from '../ring/range-hand-off.js';
import type { Hop } from '../routing/lookup.js';
import { inSpan, recordHops, SpanKind, tracingOn } from '../runtime/telemetry.js';

export const X_CACHE_VALUES = ['HIT-LOCAL', 'HIT-DHT', 'HIT-HOT', 'MISS-ORIGIN', 'MISS-DHT', 'REVALIDATED'] as const;
export type XCache = (typeof X_CACHE_VALUES)[number];

export interface ServedResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | AsyncIterable<Buffer>;
  /** The same fields as `headers`, final, in the list form `res.writeHead` takes (fresh local hits). */
  readonly headerList?: HeaderList;
  /** A fresh local hit as its fields of the moment and the stored bytes: what the lane writes as it is. */
  readonly prepared?: PreparedAnswer;
}

export interface CacheServiceComponents {
  readonly locator: OwnerLocator;
  readonly owner: OwnerCache;
  readonly peers: CachePeers;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface CacheServiceInit {
  /** Entry nodes remember key ranges → owners, so repeat requests skip the lookup. */
  readonly routeCache: boolean;
  /** Byte budget of the copies of hot objects this node keeps as an entry. */
  readonly hotCopyBytes: number;
}

export interface TraceHop {
  readonly from: { readonly id: string; readonly addr: string };
  readonly to: { readonly id: string; readonly addr: string };
  /** finger, successor, debruijn, correction (lookup steps) or forward (to the owner). */
  readonly kind: string;
  /** Koorde's imaginary node at this step. */
  readonly imaginary?: string;
  readonly shifts: number;
  readonly ms: number;
}

export interface Trace {
  readonly key: string;
  readonly url?: string;
  /** The node that traced: where a request would enter. */
  readonly traced_by: { readonly id: string; readonly addr: string };
  readonly owner: { readonly id: string; readonly addr: string };
  /** How the owner was found: this node's hot copy, its route cache, or a DHT lookup. */
  readonly via: 'hot-copy' | 'route-cache' | 'lookup';
  readonly hops: number;
  readonly path: readonly TraceHop[];
}

/** Where a key lives, and what finding it cost. */
interface Located {
  readonly route: Route;
  readonly lookupHops: number;
  readonly fromRouteCache: boolean;
  readonly path: readonly Hop[];
}

/** Lookups before giving up on a request whose owners keep failing or moving. */
const ROUTE_ATTEMPTS = 3;

/** Figures /metrics and the dashboard report about the requests this node answered as entry. */
export class RequestStats {
  readonly byXCache: Record<XCache, number> = { 'HIT-LOCAL': 0, 'HIT-DHT': 0, 'HIT-HOT': 0, 'MISS-ORIGIN': 0, 'MISS-DHT': 0, REVALIDATED: 0 };
  readonly latencyMs = new LogHistogram();
  readonly hops = new LogHistogram();
  readonly errors: Record<string, number> = {};
}

/**
 * The request flow of the web cache. The entry node finds the URL's owner (its hot copies,
 * then its route cache, then a DHT lookup), serves locally if it owns the URL, or forwards the
 * request through its CachePeers and streams the owner's answer back. Objects follow
 * ownership as nodes join and leave.
 */
export class CacheService {
  readonly hotCopies: HotCopies;
  readonly stats = new RequestStats();
  private readonly routes?: RouteCache;
  private readonly c: CacheServiceComponents;
  private nodeId?: { readonly id: bigint; readonly text: string };

  constructor(components: CacheServiceComponents, init: CacheServiceInit) {
    this.c = components;
    this.hotCopies = new HotCopies(init.hotCopyBytes, components.clock);
    if (init.routeCache) this.routes = new RouteCache(components.locator.ids, components.clock);
  }

  /** `signal` aborts when the client has gone: what was started only for it is cancelled. */
  async handle(req: CacheRequest, signal?: AbortSignal): Promise<ServedResponse> {
    const started = this.c.clock.now();
    return inSpan(`cache ${req.method}`, SpanKind.SERVER, { 'url.full': req.url, 'http.request.method': req.method }, async (span) => {
      try {
        const served = await this.route(req, started, signal);
        if (span.isRecording()) span.setAttributes({
          'http.response.status_code': served.status,
          'koorde.x_cache': String(served.headers['x-cache']),
          'koorde.hops': Number(served.headers['x-hops']),
          'koorde.owner': String(served.headers['x-responsible-node']),
        });
        return served;
      } catch (err) {
        const code = errorCode(err);
        this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
        throw err;
      }
    });
  }

  /** Forgets a URL wherever it lives (after an unsafe method succeeded at the origin). */
  async invalidate(url: string): Promise<void> {
    const { owner } = await this.c.locator.locate(this.c.locator.keyOf(url));
    if (sameNode(owner, this.c.locator.self)) this.c.owner.invalidate(url);
    else await this.c.peers.invalidate(owner.addr, url);
  }

  /**
   * Keeps a POST's response as the answer to GETs of its URL, with the URL's owner, when the
   * response says it may be (RFC 9111 §4, see OwnerCache.variantAfterPost). False when not.
   */
  async keepAfterPost(req: CacheRequest, res: { status: number; headers: Headers; body: Buffer }): Promise<boolean> {
    const variant = this.c.owner.variantAfterPost(req, res);
    if (!variant) return false;
    const { owner } = await this.c.locator.locate(this.c.locator.keyOf(req.url));
    if (sameNode(owner, this.c.locator.self)) return this.c.owner.store.put(variant);
    await this.c.peers.store(owner.addr, [variant]);
    return true;
  }

  /**
   * Cached objects by key range, as hand-offs move them: what a new predecessor takes over
   * leaves this node, since a cache keeps no replicas.
   */
  readonly range: RangeData<StoredVariant[]> = {
    inRange: (from, to) => this.c.owner.store.inRange(from, to),
    give: async (to, objects, signal) => {
      await this.c.peers.store(to.addr, objects.flat(), signal);
      this.c.logger.info({ to: to.addr, objects: objects.length }, 'handed cached objects over');
    },
    release: (objects) => {
      for (const variants of objects) this.c.owner.store.delete(variants[0]!.url);
    },
  };

  private async route(req: CacheRequest, started: number, signal: AbortSignal | undefined): Promise<ServedResponse> {
    const { locator } = this.c;
    if (!serving(locator)) throw new DhtError('ERR_NOT_READY', `this node is ${locator.status().toLowerCase().replace(/_/g, ' ')}`);
    const copy = this.hotCopies.get(req.url, req.headers);
    if (copy) {
      const age = Number(copy.head.headers.age ?? 0) + (this.c.clock.now() - copy.storedAt) / 1000;
      const head = { ...copy.head, headers: { ...copy.head.headers, age: String(Math.floor(age)) } };
      return this.answer(head, req.method === 'HEAD' ? Buffer.alloc(0) : copy.body, 'HIT-HOT', copy.owner.addr, 0, started);
    }
    const key = locator.keyOf(req.url);
    let located = this.cachedRoute(key) ?? (await this.lookUp(key));
    let lookupHops = located.lookupHops;
    let failure: unknown;
    for (let attempt = 1; ; attempt++) {
      // The owner, then the node that takes its range over if it just died.
      for (const target of located.route.successors.slice(0, 2)) {
        if (sameNode(target, locator.self)) {
          // A cached route to this node is checked like any other: the range may have moved to a joiner.
          if (located.fromRouteCache && !locator.owns(key)) {
            this.routes?.forget(target);
            break;
          }
          // A fresh hit that asks nothing special skips the full freshness rules.
          const local = this.c.owner.serveFresh(req) ?? (await this.c.owner.serve(req, signal));
          return this.answer(local, local.body, ownerXCache(local), locator.self.addr, lookupHops, started);
        }
        try {
          const forwarded = await this.c.peers.fetch(target.addr, req, { fromRouteCache: located.fromRouteCache, signal });
          const { head } = forwarded;
          const xCache = head.outcome === 'MISS' ? 'MISS-DHT' : head.outcome === 'REVALIDATED' ? 'REVALIDATED' : 'HIT-DHT';
          const { body: whole } = forwarded;
          if (whole && head.hot) this.keepHot(req, head, whole, target);
          const body = whole ?? (head.hot ? this.keepHotCopy(req, head, forwarded.chunks, target) : forwarded.chunks);
          // X-Cache-Origin: what the owner did, as the original system reported on forwarded answers.
          return this.answer(head, body, xCache, target.addr, lookupHops + 1, started, ownerXCache(head));
        } catch (err) {
          // Only a peer's failure sends the request elsewhere; a local bug is not the peer's fault.
          if (!(err instanceof DhtError) || !isRetryable(err)) throw err;
          failure = err;
          this.routes?.forget(target);
          if (errorCode(err) === 'ERR_NOT_OWNER') break; // the range moved: look it up afresh
        }
      }
      if (attempt === ROUTE_ATTEMPTS) break;
      located = await this.lookUp(key);
      lookupHops += located.lookupHops;
    }
    throw new DhtError('ERR_UNREACHABLE', `the owner of ${req.url} could not be reached after ${ROUTE_ATTEMPTS} lookups`, { cause: failure });
  }

  /**
   * The path a request for `url` (or a bare key) would take from this node right now: nothing
   * for a hot copy here, a direct hop for a cached route, else the DHT lookup and the forward
   * to the owner. Its hop count is the X-Hops such a request reports.
   */
  async trace(target: { readonly url?: string; readonly key: bigint }): Promise<Trace> {
    const { locator } = this.c;
    const hex = (id: bigint) => locator.ids.toPrefixedHex(id);
    const node = (n: NodeRef) => ({ id: hex(n.id), addr: n.addr });
    const copy = target.url ? this.hotCopies.get(target.url, {}) : undefined;
    if (copy) return { key: hex(target.key), url: target.url, traced_by: node(locator.self), owner: node(copy.owner), via: 'hot-copy', hops: 0, path: [] };
    const located = this.cachedRoute(target.key) ?? (await this.lookUp(target.key));
    const path: TraceHop[] = located.path.map((h) => ({
      from: node(h.from),
      to: node(h.to),
      kind: h.kind,
      imaginary: h.imaginary === undefined ? undefined : hex(h.imaginary),
      shifts: h.shifts,
      ms: h.ms,
    }));
    const owner = located.route.owner;
    if (!sameNode(owner, locator.self)) path.push({ from: node(locator.self), to: node(owner), kind: 'forward', shifts: 0, ms: await locator.ping(owner) });
    return { key: hex(target.key), url: target.url, traced_by: node(locator.self), owner: node(owner), via: located.fromRouteCache ? 'route-cache' : 'lookup', hops: path.length, path };
  }

  /** The key's owner as the route cache remembers it; found without a promise, the common case. */
  private cachedRoute(key: bigint): Located | undefined {
    const cached = this.routes?.find(key);
    return cached && { route: cached, lookupHops: 0, fromRouteCache: true, path: [] };
  }

  /** The key's owner by a DHT lookup, remembered in the route cache. */
  private async lookUp(key: bigint): Promise<Located> {
    const found = await this.c.locator.locate(key);
    recordHops(found.path);
    const route = { from: found.predecessor.id, owner: found.owner, successors: found.successors };
    this.routes?.remember(route);
    return { route, lookupHops: found.hops, fromRouteCache: false, path: found.path };
  }

  /** Streams the body on while collecting it, and keeps it as a hot copy once complete. */
  private async *keepHotCopy(req: CacheRequest, head: ResponseHead, chunks: AsyncIterable<Buffer>, owner: NodeRef): AsyncIterable<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of chunks) {
      parts.push(chunk);
      yield chunk;
    }
    this.keepHot(req, head, Buffer.concat(parts), owner);
  }

  private keepHot(req: CacheRequest, head: ResponseHead, body: Buffer, owner: NodeRef): void {
    if (req.method === 'GET' && head.status === 200) this.hotCopies.put(req.url, head, body, owner, req.headers);
  }

  /**
   * The common case answered without a promise per step: a fresh hit this node owns by a cached
   * route, of a request that asks nothing special, while tracing is off. What `handle` would
   * answer for it, headers included; undefined when `handle` must run.
   */
  answerFresh(req: CacheRequest): ServedResponse | undefined {
    const { locator } = this.c;
    if (tracingOn() || !serving(locator) || this.hotCopies.get(req.url, req.headers)) return undefined;
    const started = this.c.clock.now();
    const key = locator.keyOf(req.url);
    const owner = this.routes?.find(key)?.successors[0];
    if (owner === undefined || !sameNode(owner, locator.self) || !locator.owns(key)) return undefined;
    const local = this.c.owner.serveFresh(req);
    return local && this.answer(local, local.body, 'HIT-LOCAL', locator.self.addr, 0, started);
  }

  private answer(head: ResponseHead, body: Buffer | AsyncIterable<Buffer>, xCache: XCache, owner: string, hops: number, started: number, atOwner?: XCache): ServedResponse {
    const latency = this.c.clock.now() - started;
    this.stats.byXCache[xCache]++;
    this.stats.latencyMs.record(latency);
    this.stats.hops.record(hops);
    // Spread into one new list: concat with single fields instead of arrays is V8's slow path.
    const fields = [
      ...(head.prepared?.leading ?? head.headerList ?? []),
      'x-cache', xCache,
      'cache-status', cacheStatus(head, xCache),
      'x-node-id', this.nodeIdText(),
      'x-responsible-node', owner,
      'x-entry-node', this.c.locator.self.addr,
      'x-hops', String(hops),
      'x-latency-ms', hundredths(latency),
    ];
    if (atOwner) fields.push('x-cache-origin', atOwner);
    if (head.prepared !== undefined) return new PreparedResponse(head.status, head.prepared.ledBy(fields));
    if (head.headerList !== undefined) return new ListedResponse(head.status, fields, body);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(head.headers)) if (value !== undefined) headers[name] = value;
    Object.assign(headers, fromHeaderList(fields));
    return { status: head.status, headers, body };
  }

  /** X-Node-ID: made once per node id rather than per answer. */
  private nodeIdText(): string {
    const { id } = this.c.locator.self;
    if (this.nodeId?.id !== id) this.nodeId = { id, text: this.c.locator.ids.toPrefixedHex(id) };
    return this.nodeId.text;
  }
}

/** An answer whose headers are a prepared list; the map form is built only if something reads it. */
class ListedResponse implements ServedResponse {
  constructor(
    readonly status: number,
    readonly headerList: HeaderList,
    readonly body: Buffer | AsyncIterable<Buffer>,
  ) {}

  get headers(): Record<string, string | string[]> {
    return fromHeaderList(this.headerList);
  }
}

/** A fresh local hit: its list, body and map are made only if the writer is not the lane. */
class PreparedResponse implements ServedResponse {
  constructor(
    readonly status: number,
    readonly prepared: PreparedAnswer,
  ) {}

  get headerList(): HeaderList {
    return this.prepared.headerList;
  }

  get body(): Buffer {
    return this.prepared.body;
  }

  get headers(): Record<string, string | string[]> {
    return fromHeaderList(this.headerList);
  }
}

/** A duration (ms ≥ 0) with two decimals, as toFixed(2) gives it at a third of its cost (it is on every answer). */
export function hundredths(ms: number): string {
  const total = Math.round(Math.max(0, ms) * 100);
  const rest = total % 100;
  return `${(total - rest) / 100}.${rest < 10 ? '0' : ''}${rest}`;
}

/** The X-Cache an owner gives what it served itself. */
function ownerXCache(head: ResponseHead): XCache {
  return head.outcome === 'MISS' ? 'MISS-ORIGIN' : head.outcome === 'REVALIDATED' ? 'REVALIDATED' : 'HIT-LOCAL';
}

/** Whether the node answers cache requests: in a ring, long pointers built or not. */
function serving(locator: OwnerLocator): boolean {
  const status = locator.status();
  return status === 'READY' || status === 'DEBRUIJN_NOT_READY';
}

/** RFC 9211 Cache-Status: what this cache did, in the standard's vocabulary. */
function cacheStatus(head: ResponseHead, xCache: XCache): string {
  const ttl = `ttl=${Math.floor(head.freshForMs / 1000)}`;
  const fwdStatus = head.originStatus ? `; fwd-status=${head.originStatus}` : '';
  const stored = head.stored ? '; stored' : '';
  const collapsed = head.collapsed ? '; collapsed' : '';
  switch (head.outcome) {
    case 'HIT':
      return `koorde; hit; ${ttl}${xCache === 'HIT-HOT' ? '; detail=hot-copy' : ''}`;
    case 'UPDATING':
      return 'koorde; hit; fwd=stale; detail=stale-while-revalidate';
    case 'STALE':
      return `koorde; hit; fwd=stale${fwdStatus}; detail=stale-if-error`;
    case 'REVALIDATED':
      return `koorde; fwd=stale${fwdStatus}${stored}${collapsed}; ${ttl}`;
    case 'MISS':
      // Not forwarded at all: only-if-cached found nothing to answer with (RFC 9111 §5.2.1.7).
      if (head.originStatus === undefined) return 'koorde; detail=only-if-cached';
      return `koorde; fwd=${head.varyMiss ? 'vary-miss' : 'uri-miss'}${fwdStatus}${stored}${collapsed}`;
  }
}
