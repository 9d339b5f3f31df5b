import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { canonicalUrl } from '../cache/cache-key.js';
import type { CacheService } from '../cache/cache-service.js';
import { MAX_CLIENT_REQUEST_FIELDS } from '../cache/cache-wire.js';
import { toHeaderList, type HeaderList } from '../cache/header-list.js';
import { endToEndRequestFields, VIA, withProxyFields, type ProxyFieldsInit } from '../cache/origin/headers.js';
import type { InterimListener } from '../cache/origin/origin-client.js';
import type { CacheRequest } from '../cache/owner-cache.js';
import { DhtError, errorCode } from '../errors.js';
import type { DhtNode } from '../node/dht-node.js';
import { nodeSnapshot } from '../node/node-snapshot.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { recentResults, sharedFor } from '../runtime/memo.js';
import { answerRange } from './byte-ranges.js';
import { LanedServer } from './cache-lane.js';
import { CACHE_REQUEST_HEADERS } from './lane-request.js';
import { clusterView } from './cluster-view.js';
import { serveDashboard } from './dashboard-files.js';
import { metricsJson, prometheusRegistry, type MetricsSources } from './metrics.js';
import { gatewayTarget, parseRequestTarget } from './request-target.js';
import { referenceDebugFields, referenceHealthDetails } from './reference-fields.js';
import { sendError, sendInterim, sendJson, sendListed, sendServed, writeChunk, type ResponseSink } from './respond.js';

/** What gateway mode needs for methods it does not cache: a streaming pass-through to its origin. */
export interface OriginPassThrough {
  passThrough(req: {
    url: URL;
    method: string;
    headers: Record<string, string | string[] | undefined>;
    body?: Readable;
    signal?: AbortSignal;
    onInterim?: InterimListener;
  }): Promise<{ status: number; headers: Record<string, string | string[]>; body: Readable }>;
}

export interface HttpServerDeps {
  readonly dht: DhtNode;
  readonly metrics: MetricsSources;
  /** Absent when CACHE_ENABLED=false: only the operational endpoints are served then. */
  readonly cache?: CacheService;
  /** Gateway mode (CACHE_ORIGIN): every non-API path is a caching reverse proxy of this origin. */
  readonly gateway?: {
    readonly origin: URL;
    readonly client: OriginPassThrough;
    readonly proxyFields: ProxyFieldsInit;
    /** CACHE_MAX_OBJECT_MB: the largest response to a POST that is kept for later GETs. */
    readonly maxObjectBytes: number;
  };
  /** Serve /cache?url= for any origin (CACHE_OPEN_PROXY); off, it answers 404. */
  readonly openProxy: boolean;
  readonly clock: Clock;
  /** CACHE_DEMO_ORIGIN: advertised in /health so that load generators know what to request. */
  readonly demoOrigin?: string;
  readonly logger: Logger;
}

/** How long one /cluster view is served before the ring is walked again. */
const CLUSTER_VIEW_TTL_MS = 2000;

/** Paths the API owns, also in gateway mode (docs/api.md). */
export const API_PATHS = ['/cache', '/health', '/metrics', '/debug', '/cluster', '/trace', '/dashboard'];

/**
 * On every /cache?url= answer: the body is some other site's, served from this node's origin,
 * so browsers must neither guess its type nor run it with this origin's rights.
 */
const OPEN_PROXY_HEADERS = { 'x-content-type-options': 'nosniff', 'content-security-policy': 'sandbox' };
const OPEN_PROXY_FIELDS = toHeaderList(OPEN_PROXY_HEADERS);

/** Methods that change nothing at the origin (RFC 9110 §9.2.1): they invalidate nothing. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** This cache's Via on the answers of a gateway (RFC 9110 §7.6.3), a field line after the origin's own. */
const VIA_FIELD: HeaderList = ['via', VIA];

/** Request targets and cache URLs whose parsed form is remembered, and the longest remembered. */
const TARGETS_REMEMBERED = 1024;
const LONGEST_REMEMBERED_TARGET = 2048;

/**
 * Parsed request targets (with the API path each names) and canonical /cache?url= URLs, shared
 * by the requests that repeat them: parsing was a tenth of a cached hit's CPU. The URLs are only
 * read, never changed.
 */
const requestTarget = recentResults(TARGETS_REMEMBERED, LONGEST_REMEMBERED_TARGET, (raw) => {
  const url = parseRequestTarget(raw);
  const path = url.pathname.replace(/\/+$/, '') || '/';
  // /cache's url parameter, as one string that the cache URL memo below hashes once.
  return { url, path, api: API_PATHS.includes(path) || path.startsWith('/dashboard/'), cacheUrl: path === '/cache' ? url.searchParams.get('url') : null };
});
const cacheTarget = recentResults(TARGETS_REMEMBERED, LONGEST_REMEMBERED_TARGET, canonicalUrl);

/** The node's HTTP API on CACHE_HTTP_PORT. No per-request logging above debug level. */
export function createHttpServer(deps: HttpServerDeps): Server {
  const registry = prometheusRegistry(deps.metrics);
  // A view asks every member: one walk serves every caller for a while, however often it is asked.
  const cluster = sharedFor(deps.clock, CLUSTER_VIEW_TTL_MS, () => clusterView(deps.dht, deps.dht.signal));
  const server = new LanedServer(
    (req, res) => answer(req, res, handle),
    (req, res) => answer(req, res, (r) => cacheRoute(r, res, requestTarget(r.url).cacheUrl)),
  );
  server.keepAliveTimeout = 65_000; // longer than common load balancer idle timeouts (AWS: 60 s)

  /** Runs a route; whatever it throws or rejects with becomes an error answer. */
  function answer<Req extends ClientRequest, Res extends ResponseSink>(req: Req, res: Res, route: (req: Req, res: Res) => Promise<void> | void): void {
    try {
      route(req, res)?.catch((err: unknown) => failed(req, res, err));
    } catch (err) {
      failed(req, res, err);
    }
  }

  function failed(req: ClientRequest, res: ResponseSink, err: unknown): void {
    if (!(err instanceof DhtError)) deps.logger.error({ err, url: req.url }, 'request failed');
    sendError(res, err);
  }

  /**
   * Answers at once, or returns the promise of an answer that waits for something (an owner, the
   * origin, a walk of the ring): a fresh hit is answered within the request's own call, without
   * the promises of the general path, which cost a tenth of its CPU.
   */
  function handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const target = requestTarget(req.url ?? '/');
    const { url, path, api } = target;
    if (deps.gateway && !api) return gateway(req, res, url);
    switch (path) {
      case '/health':
        return health(res);
      case '/metrics':
        return metrics(req, res, url);
      case '/debug':
        return sendJson(res, 200, debugState(deps.dht));
      case '/cache':
        return cacheRoute(req, res, target.cacheUrl);
      case '/cluster':
        return cluster().then((view) => sendJson(res, 200, view));
      case '/trace':
        return requireCache()
          .trace(traceTarget(deps.dht, url))
          .then((trace) => sendJson(res, 200, trace));
      case '/dashboard':
        return serveDashboard(res, url.pathname);
      case '/':
        res.writeHead(302, { location: '/dashboard' }).end();
        return;
      default:
        if (path.startsWith('/dashboard/')) return serveDashboard(res, url.pathname);
        return sendJson(res, 404, { error: 'not_found', message: `no such endpoint: ${path}` });
    }
  }

  function health(res: ServerResponse): void {
    const node = nodeSnapshot(deps.dht);
    sendJson(res, node.status === 'READY' ? 200 : 503, {
      healthy: node.status === 'READY',
      status: node.status,
      node_id: node.self.id,
      details: {
        addr: node.self.addr,
        protocol: node.protocol,
        predecessor: node.predecessor?.addr ?? null,
        successors: node.counts.successors,
        long_pointers: node.counts.pointers,
        cache_enabled: deps.cache !== undefined,
        gateway_origin: deps.gateway?.origin.href ?? null,
        demo_origin: deps.demoOrigin || null,
        ...referenceHealthDetails(node),
      },
    });
  }

  async function metrics(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const accept = req.headers.accept ?? '';
    if (url.searchParams.get('format') === 'prometheus' || /text\/plain|application\/openmetrics-text/.test(accept)) {
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text);
      return;
    }
    sendJson(res, 200, metricsJson(deps.metrics));
  }

  function cacheRoute(req: ClientRequest, res: ResponseSink, raw: string | null): Promise<void> | void {
    if (!deps.openProxy) {
      const why = deps.gateway ? 'this gateway serves only its own origin' : 'CACHE_OPEN_PROXY=false';
      return sendJson(res, 404, { error: 'not_found', message: `/cache?url= is off on this node (${why}); set CACHE_OPEN_PROXY=true to serve it` }, OPEN_PROXY_HEADERS);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJson(res, 405, { error: 'method_not_allowed', message: '/cache serves GET and HEAD' }, { allow: 'GET, HEAD', ...OPEN_PROXY_HEADERS });
    }
    const method = req.method;
    try {
      const service = requireCache();
      const request = cacheRequest(req, raw ? cacheTarget(raw) : canonicalUrl(undefined));
      const fresh = service.answerFresh(request);
      if (fresh) return sendListed(res, fresh, method, OPEN_PROXY_FIELDS);
      return service
        .handle(request, clientGone(res))
        .then((served) => sendServed(res, served, method, OPEN_PROXY_FIELDS))
        .catch((err: unknown) => failedWithOpenProxyHeaders(res, err));
    } catch (err) {
      failedWithOpenProxyHeaders(res, err);
    }
  }

  /**
   * Gateway mode: a reverse proxy of the configured origin. GET and HEAD go through the cache
   * (a Range is answered from the whole stored response); every other method, its body and
   * every end-to-end header go to the origin, uncached. The forwarding fields (Via,
   * X-Forwarded-*) and the relay of the origin's interim responses are set up only past the
   * fresh-hit fast path, which never reaches the origin.
   */
  async function gateway(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { origin, proxyFields } = deps.gateway!;
    const target = gatewayTarget(origin, url);
    const service = requireCache();
    const fields = endToEndRequestFields(req.headers);
    const count = Object.keys(fields).length;
    if (count > MAX_CLIENT_REQUEST_FIELDS) {
      throw new DhtError('ERR_INVALID_ARGUMENT', `a gateway request may carry at most ${MAX_CLIENT_REQUEST_FIELDS} header fields, not ${count}`);
    }
    const forwarded = () => withProxyFields(fields, { address: req.socket.remoteAddress, encrypted: 'encrypted' in req.socket }, proxyFields);
    const via = proxyFields.via ? VIA_FIELD : [];
    if (req.method !== 'GET' && req.method !== 'HEAD') return passThrough(req, res, target, forwarded(), via, 'method');
    const request: CacheRequest = { url: cacheTarget(target.href).href, method: req.method, headers: fields };
    let served;
    try {
      served = service.answerFresh(request) ?? (await service.handle({ ...request, headers: forwarded(), onInterim: interimTo(res) }, clientGone(res)));
    } catch (err) {
      // A range of an object too large to store is still the origin's to give (its 206 is not stored).
      if (errorCode(err) === 'ERR_TOO_LARGE' && req.method === 'GET' && fields.range !== undefined) return passThrough(req, res, target, forwarded(), via, 'uri-miss');
      throw err;
    }
    await sendServed(res, req.method === 'GET' ? await answerRange(served, fields) : served, req.method, via);
  }

  /**
   * Any method to the origin as the client sent it, body streamed both ways, nothing stored. A
   * successful unsafe method invalidates what is stored for the target and for the same-origin
   * URLs in Location and Content-Location (RFC 9111 §4.4). `fwd` is why, in RFC 9211 terms: the
   * method, or a URL the cache cannot hold.
   */
  async function passThrough(req: IncomingMessage, res: ServerResponse, target: URL, headers: Record<string, string>, via: HeaderList, fwd: 'method' | 'uri-miss'): Promise<void> {
    const { origin, client, maxObjectBytes } = deps.gateway!;
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const answer = await client.passThrough({ url: target, method: req.method!, headers, body: req, signal: controller.signal, onInterim: interimTo(res) });
    if (!SAFE_METHODS.has(req.method!) && answer.status >= 200 && answer.status < 400) {
      const stale = [target, ...sameOriginLocations(answer.headers, target, origin)].map((u) => canonicalUrl(u.href).href);
      for (const url of new Set(stale)) await requireCache().invalidate(url).catch((err: unknown) => deps.logger.warn({ err, url }, 'invalidation failed'));
    }
    // This cache's Cache-Status member goes after any an upstream cache sent (RFC 9211 §2).
    res.writeHead(answer.status, toHeaderList(answer.headers).concat('cache-status', `koorde; fwd=${fwd}; fwd-status=${answer.status}`, via));
    // A POST's answer that names its own target as Content-Location may answer later GETs: kept while it streams.
    const reusable = req.method === 'POST' && answer.status >= 200 && answer.status < 300 && namesTarget(answer.headers['content-location'], target);
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let whole = true;
    for await (const chunk of answer.body) {
      if (reusable && (keptBytes += chunk.length) <= maxObjectBytes) kept.push(chunk);
      if (!(await writeChunk(res, chunk))) {
        whole = false; // the client left: the rest is not read, and a part is not kept
        break;
      }
    }
    // Kept before the answer ends, so that the client's next GET finds it.
    if (reusable && whole && keptBytes <= maxObjectBytes) {
      const request: CacheRequest = { url: canonicalUrl(target.href).href, method: 'GET', headers };
      await requireCache()
        .keepAfterPost(request, { status: answer.status, headers: answer.headers, body: Buffer.concat(kept, keptBytes) })
        .catch((err: unknown) => deps.logger.warn({ err, url: target.href }, 'could not keep the response to a POST'));
    }
    res.end();
  }

  function requireCache(): CacheService {
    if (!deps.cache) throw new DhtError('ERR_NOT_READY', 'the cache is disabled on this node (CACHE_ENABLED=false)');
    return deps.cache;
  }

  return server;
}

/**
 * Rethrows a /cache?url= failure with the open-proxy fields set for its error answer: set here
 * rather than up front, where Node would merge them into every answer.
 */
function failedWithOpenProxyHeaders(res: ResponseSink, err: unknown): never {
  if (!res.headersSent) for (const [name, value] of Object.entries(OPEN_PROXY_HEADERS)) res.setHeader(name, value);
  throw err;
}

/** What the cache reads of a client's request, from node:http or from the cache lane. */
interface ClientRequest {
  readonly method?: string;
  readonly url?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** One per connection: making a signal per request was a twentieth of a cached hit's CPU. */
const goneByConnection = new WeakMap<Socket, AbortSignal>();

/**
 * Aborts when the client's connection closes: a request still being answered then has lost its
 * client (HTTP/1.1 answers a connection's requests in order, so every earlier one is done).
 */
function clientGone(res: ResponseSink): AbortSignal | undefined {
  const socket = res.socket;
  if (!socket) return undefined;
  let signal = goneByConnection.get(socket);
  if (!signal) {
    const gone = new AbortController();
    socket.once('close', () => gone.abort(new DhtError('ERR_ABORTED', 'the client went away')));
    signal = gone.signal;
    goneByConnection.set(socket, signal);
  }
  return signal;
}

/** /trace?url=… (a URL's key) or ?key=… (hex). */
function traceTarget(dht: DhtNode, url: URL): { url?: string; key: bigint } {
  const raw = url.searchParams.get('url');
  if (raw) {
    const target = canonicalUrl(raw).href;
    return { url: target, key: dht.ids.hash(target) };
  }
  const key = url.searchParams.get('key');
  if (!key) throw new DhtError('ERR_INVALID_ARGUMENT', 'use /trace?url=<absolute URL> or /trace?key=<hex id>');
  try {
    return { key: dht.ids.parseHex(key) };
  } catch (err) {
    throw new DhtError('ERR_INVALID_ARGUMENT', (err as Error).message);
  }
}

/**
 * A /cache?url= request: only the client fields below go on, never its credentials, since the
 * origin is some third party's.
 */
function cacheRequest(req: ClientRequest, target: URL): CacheRequest {
  const headers: Record<string, string> = {};
  for (const name of CACHE_REQUEST_HEADERS) {
    const value = req.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return { url: target.href, method: req.method === 'HEAD' ? 'HEAD' : 'GET', headers };
}

/** Relays the origin's interim responses (RFC 9110 §15.2) to this client, ahead of the final answer. */
function interimTo(res: ServerResponse): InterimListener {
  return (status, headers) => sendInterim(res, status, headers);
}

/** Content-Location names the request's own target (RFC 9110 §8.7), spelled in any equivalent way. */
function namesTarget(contentLocation: string | string[] | undefined, target: URL): boolean {
  if (typeof contentLocation !== 'string' || !URL.canParse(contentLocation, target.href)) return false;
  return canonicalUrl(new URL(contentLocation, target).href).href === canonicalUrl(target.href).href;
}

/** The URLs in Location and Content-Location that are on the gateway origin (RFC 9111 §4.4 invalidates only those). */
function sameOriginLocations(headers: Record<string, string | string[]>, target: URL, origin: URL): URL[] {
  const urls: URL[] = [];
  for (const name of ['location', 'content-location']) {
    const value = headers[name];
    if (typeof value !== 'string' || !URL.canParse(value, target.href)) continue;
    const url = new URL(value, target);
    if (url.origin === origin.origin) urls.push(url);
  }
  return urls;
}

/** This node's routing state, for people and scripts. */
export function debugState(dht: DhtNode) {
  const node = nodeSnapshot(dht);
  return {
    self: node.self,
    status: node.status,
    protocol: node.protocol,
    predecessor: node.predecessor ?? null,
    successors: node.successors,
    [node.protocol === 'koorde' ? 'de_bruijn' : 'fingers']: node.pointers,
    store_items: node.counts.storeItems,
    ...referenceDebugFields(node, dht.ids.bits),
  };
}
