import type * as grpc from '@grpc/grpc-js';
import type { Server as HttpServer } from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo, Socket } from 'node:net';
import { CacheService } from '../cache/cache-service.js';
import { HotKeys } from '../cache/hot-keys.js';
import { MemoryGuard } from '../cache/memory-guard.js';
import { ObjectStore } from '../cache/object-store.js';
import { OriginPolicy } from '../cache/origin/address-policy.js';
import { FetchLimiter } from '../cache/origin/fetch-limiter.js';
import { OriginClient } from '../cache/origin/origin-client.js';
import { OwnerCache } from '../cache/owner-cache.js';
import { CacheOwnerEndpoint } from '../cache/owner-endpoint.js';
import { createHttpServer } from '../http/http-server.js';
import { listenHttp } from '../http/listen.js';
import { dashboardFigures } from '../http/metrics.js';
import { IdSpace } from '../id/id-space.js';
import { freeBalancedId, MAX_MOVES } from '../id/placement.js';
import type { Settings } from '../config/settings.js';
import { wallClock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { sharedFor } from '../runtime/memo.js';
import { repeat } from '../runtime/periodic.js';
import { systemRng, type Rng } from '../runtime/rng.js';
import { withDeadline } from '../transport/deadline.js';
import type { Transport } from '../transport/transport.js';
import { withDelay } from '../transport/delay.js';
import { cacheControlImplementation } from '../transport/grpc/cache-control-service.js';
import { CacheControlClient } from '../transport/grpc/cache-control-client.js';
import { createServer, dhtImplementation, listen, shutdown } from '../transport/grpc/grpc-server.js';
import { GrpcTransport } from '../transport/grpc/grpc-transport.js';
import type { GrpcCredentials } from '../transport/grpc/tls.js';
import { services } from '../transport/grpc/protos.js';
import { FramedCachePeers } from '../transport/peer/framed-cache-peers.js';
import { createPeerServer } from '../transport/peer/peer-server.js';
import { advertisedHost, joinHostPort } from './address.js';
import { bootstrap, dnsPeers, staticPeers, type PeerSource } from './bootstrap.js';
import { clientApiImplementation } from './client-api.js';
import { containerMemoryLimit, memoryCeilingBytes } from './container-memory.js';
import { DhtNode, type DisplacedReason } from '../node/dht-node.js';
import { dhtOwnerLocator } from './dht-owner-locator.js';
import { healthImplementation } from './health-service.js';
import { initialPlacement } from './node-id.js';
import { readState, writeState } from './state-file.js';
import { startTracing } from './tracing.js';

/** How long in-flight calls may finish once the node stops serving. */
const SHUTDOWN_GRACE_MS = 2000;
/** How long an owner may take to answer a forwarded request: its whole origin fetch included. */
const FORWARD_HEAD_TIMEOUT_MS = 60_000;
/** Share of the cache budget an entry node may spend on copies of other owners' hot objects. */
const HOT_COPY_SHARE = 1 / 16;
/** How often the memory guard reads resident memory besides after stores. */
const MEMORY_CHECK_INTERVAL_MS = 1000;
/**
 * How long the ring check reuses one list of bootstrap peers: listing them may be an API call
 * (Route 53 allows five a second per account), which 100 nodes checking every 20 s would exceed.
 */
const CONTACTS_TTL_MS = 5 * 60_000;
const MIB = 1024 * 1024;

export interface NodeProcess {
  readonly dht: DhtNode;
  readonly addr: string;
  /** Resolves once the node is in a ring (created or joined). */
  readonly ready: Promise<'created' | 'joined'>;
  /**
   * Resolves once the node has left the ring for good (see DhtNode's onDisplaced): another joined
   * with its id at the same instant, or it moves to rebalance. Its id must not be saved; after
   * release(), a new node process takes its place.
   */
  readonly displaced: Promise<DisplacedReason>;
  /** SIGTERM: hand data to the successor, tell neighbours, save state, stop, flush tracing (always). */
  leave(): Promise<void>;
  /** After displaced: frees the ports and connections without saving state, so a new node process can start. */
  release(): Promise<void>;
  /** Serves a client connection accepted elsewhere (a local cluster's balancer) as one to CACHE_HTTP_PORT. */
  serveConnection(socket: Socket): void;
}

export interface NodeProcessOptions {
  /** How often this process's nodes already moved to rebalance: from MAX_MOVES on, a balanced node stays where it joins. */
  readonly moves?: number;
}

/**
 * The composition root of a real node: gRPC on NODE_PORT (dht.v1, client.v1, grpc.health.v1),
 * the DhtNode with its store reloaded from STATE_FILE, and the bootstrap into a ring.
 */
export async function startNodeProcess(settings: Settings, logger: Logger, credentials: GrpcCredentials, options: NodeProcessOptions = {}): Promise<NodeProcess> {
  const host = advertisedHost(settings);
  const addr = joinHostPort(host, settings.port);
  const ids = new IdSpace(settings.idBits);
  const state = settings.stateFile ? await readState(settings.stateFile) : undefined;
  // A pod's HOSTNAME is its name (dht-node-3), as is the kernel's hostname there; only the variable
  // can differ per process when pods are rehearsed on one machine.
  const placement = initialPlacement(settings, state?.id, addr, process.env.HOSTNAME || hostname(), ids);
  const transport = new GrpcTransport(ids, credentials);
  const dhtTransport = settings.hopDelayMs > 0 ? withDelay(transport, wallClock, settings.hopDelayMs) : transport;
  const rng = systemRng();
  const route53 = settings.bootstrapMode === 'route53' ? await route53Registry(settings, addr, logger) : undefined;
  // Registered before it looks for peers: nodes started together agree on who creates the ring by
  // finding each other's records (renamed below if a balanced node picks another id).
  await route53?.register(ids.toHex(placement.id));
  const peers = route53
    ? route53.peers
    : settings.bootstrapMode === 'dns'
      ? dnsPeers(settings.bootstrapDnsName, settings.port, addr, settings.bootstrapDnsServer || undefined)
      : staticPeers(settings.bootstrapPeers, addr);
  // A balanced joiner's id is fixed before it joins: it finds the ring and picks through a member first.
  const start = placement.balanceOnJoin
    ? await pickBalancedId(dhtTransport, peers, { ids, rng, logger, failureTimeoutMs: settings.failureTimeoutMs, hashedId: placement.id })
    : { id: placement.id, creates: false };
  const id = start.id;
  if (id !== placement.id) await route53?.register(ids.toHex(id));
  const stopTracing = settings.tracingEnabled
    ? startTracing({ exporter: settings.tracingExporter, endpoint: settings.tracingEndpoint }, { addr, id: ids.toHex(id), protocol: settings.protocol })
    : undefined;
  let onDisplaced: (reason: DisplacedReason) => void = () => {};
  const displaced = new Promise<DisplacedReason>((resolve) => (onDisplaced = resolve));
  const dht = new DhtNode(
    {
      transport: dhtTransport,
      clock: wallClock,
      rng,
      logger,
      onDisplaced: (reason) => onDisplaced(reason),
      contacts: sharedFor(wallClock, CONTACTS_TTL_MS, async () => (await peers()).filter((p) => !p.self).map((p) => p.addr)),
    },
    {
      self: { id, addr },
      idBits: settings.idBits,
      protocol: settings.protocol,
      degree: settings.degree,
      successorListSize: settings.successorListSize,
      stabilizeIntervalMs: settings.stabilizeIntervalMs,
      fixIntervalMs: settings.protocol === 'koorde' ? settings.deBruijnFixIntervalMs : settings.fingerFixIntervalMs,
      failureTimeoutMs: settings.failureTimeoutMs,
      replicationFactor: settings.replicationFactor,
      storageFixIntervalMs: settings.storageFixIntervalMs,
      kvLimits: {
        maxKeyBytes: settings.kvMaxKeyBytes,
        maxValueBytes: settings.kvMaxValueBytes,
        maxItemsPerMessage: settings.kvMaxItemsPerMessage,
        maxClockSkewMs: settings.kvMaxClockSkewMs,
      },
      rebalance: settings.idRebalance && placement.balanceOnJoin && (options.moves ?? 0) < MAX_MOVES,
    },
  );
  for (const item of state?.items ?? []) dht.store.items.merge(item);

  const server: grpc.Server = createServer();
  server.addService(services().dht.service, dhtImplementation(dht.handlers, ids));
  server.addService(services().client.service, clientApiImplementation(dht));
  server.addService(services().health.service, healthImplementation(() => dht.status === 'READY'));
  const cache = settings.cacheEnabled ? webCache(settings, dht, logger, credentials) : undefined;
  if (cache) {
    // The peer data channel listens first, so the port the control plane announces is its own.
    await listenHttp(cache.peerServer.server, settings.peerPort, settings.bind);
    const peerPort = (cache.peerServer.server.address() as AddressInfo).port;
    server.addService(services().cache.service, cacheControlImplementation(cache.endpoint, () => peerPort));
  }
  await listen(server, settings.bind, settings.port, credentials);
  const metrics = {
    dht,
    cache: cache && { service: cache.service, owner: cache.owner, capacityBytes: settings.capacityMB * MIB, guard: cache.guard },
    memoryUsage: () => process.memoryUsage(),
  };
  dht.setFigures(() => dashboardFigures(metrics, settings.httpPort));
  const http = createHttpServer({
    dht,
    metrics,
    cache: cache?.service,
    gateway: settings.origin && cache
      ? {
          origin: new URL(settings.origin),
          client: cache.origin,
          proxyFields: { via: settings.via, forwardedFor: settings.forwardedHeaders },
          maxObjectBytes: settings.maxObjectMB * MIB,
        }
      : undefined,
    openProxy: settings.openProxy ?? !settings.origin,
    clock: wallClock,
    demoOrigin: settings.demoOrigin,
    logger,
  });
  await listenHttp(http, settings.httpPort, settings.bind);
  logger.info({ addr, http: settings.httpPort, id: ids.toHex(id), idStrategy: settings.idStrategy, protocol: settings.protocol, restoredItems: state?.items.length ?? 0 }, 'node listening');

  const ready = start.creates ? Promise.resolve(dht.create()).then(() => 'created' as const) : bootstrap(dht, peers, { clock: wallClock, rng, logger }, dht.signal);
  ready.catch(() => {}); // awaited by the caller; this only keeps an early abort from being unhandled

  let left = false;
  displaced.then(() => (left = true));
  /** Stops serving: the ring already knows this node is gone. */
  const close = async () => {
    // Peers stop finding this node once its record is gone; a failure leaves a stale record they skip.
    await route53?.deregister().catch((err: unknown) => logger.warn({ err }, 'could not remove the Route 53 record'));
    route53?.close();
    await shutdown(server, SHUTDOWN_GRACE_MS);
    await closeHttp(http);
    if (cache) await cache.peerServer.close();
    transport.close();
    cache?.peers.close();
    await cache?.origin.close();
  };
  let released: Promise<void> | undefined;
  const release = () =>
    (released ??= (async () => {
      try {
        await close();
      } finally {
        // Spans wait in a batch until exported: flushed here, last (the servers' final requests
        // included) and also when a step above failed, before the caller exits the process.
        await stopTracing?.();
      }
      logger.info({ addr }, 'node stopped');
    })());

  return {
    dht,
    addr,
    ready,
    displaced,
    release,
    serveConnection(socket) {
      if (http.listening) http.emit('connection', socket);
      else socket.destroy(); // stopping: as a closed port would refuse it
    },
    async leave() {
      // A displaced node has left already, and its id is another's now or one it gave up.
      if (left) return release();
      try {
        if (dht.status !== 'NOT_INITIALIZED') await dht.leave();
        else dht.stop();
        if (settings.stateFile) {
          await writeState(settings.stateFile, { format: 1, id: ids.toHex(dht.self.id), addr, savedAt: new Date().toISOString(), items: dht.store.items.all() });
        }
      } catch (err) {
        await release().catch(() => {}); // the first failure is the one to report
        throw err;
      }
      await release();
    },
  };
}

/**
 * Finds the ring as bootstrap does and picks a free balanced id through the member that
 * answered; the node that creates the ring keeps its hashed id.
 */
async function pickBalancedId(
  transport: Transport,
  peers: PeerSource,
  options: { ids: IdSpace; rng: Rng; logger: Logger; failureTimeoutMs: number; hashedId: bigint },
): Promise<{ id: bigint; creates: boolean }> {
  const { ids, rng, logger } = options;
  const members = withDeadline(transport, wallClock, options.failureTimeoutMs);
  let id = options.hashedId;
  // Nothing listens yet and the clock's timers do not hold the process: this one does, until the id is picked.
  const keepAlive = setInterval(() => {}, 60_000);
  const outcome = await bootstrap(
    {
      async join(via, signal) {
        id = await freeBalancedId(ids, rng, {
          lookup: (key) => members.call(via, 'lookup', { key }, { signal }),
          predecessorOf: async (node) => (await members.call(node.addr, 'getNeighbours', {}, { signal })).predecessor,
        });
      },
      create() {},
    },
    peers,
    { clock: wallClock, rng, logger },
    new AbortController().signal, // nothing to abort yet: SIGTERM before the node exists just ends the process
  ).finally(() => clearInterval(keepAlive));
  if (outcome === 'joined') logger.info({ id: ids.toHex(id) }, 'picked a balanced id');
  return { id, creates: outcome === 'created' };
}

/** The web cache of one node: origin client, owner store, entry-side request flow, and the owner's endpoint with its peer server. */
function webCache(settings: Settings, dht: DhtNode, logger: Logger, credentials: GrpcCredentials) {
  const origin = new OriginClient({
    policy: new OriginPolicy(settings.originAllowlist),
    gatewayOrigin: settings.origin ? new URL(settings.origin) : undefined,
    maxBodyBytes: settings.maxObjectMB * MIB,
    totalTimeoutMs: settings.originFetchTimeoutMs,
    limiter: new FetchLimiter(wallClock, {
      maxConcurrent: settings.originMaxConcurrent,
      maxPerHost: settings.originMaxPerHost,
      maxQueued: settings.originQueue,
      queueTimeoutMs: settings.originQueueTimeoutMs,
    }),
    logger,
  });
  const store = new ObjectStore(settings.capacityMB * MIB, dht.ids);
  const guard = memoryGuard(settings, store, dht.signal, logger);
  const owner = new OwnerCache(
    store,
    origin,
    new HotKeys(wallClock, settings.hotspotThreshold, settings.hotspotDecay),
    { defaultTtlSeconds: settings.defaultTtlSeconds, storeSetCookie: settings.storeSetCookie, targetedCacheControl: settings.targetedCacheControl },
    dht.signal,
  );
  const peers = new FramedCachePeers(new CacheControlClient(credentials, wallClock, settings.failureTimeoutMs * 10), credentials, wallClock, {
    headTimeoutMs: FORWARD_HEAD_TIMEOUT_MS,
    hopDelayMs: settings.hopDelayMs,
    maxBodyBytes: settings.maxObjectMB * MIB,
  });
  const locator = dhtOwnerLocator(dht);
  const service = new CacheService(
    { locator, owner, peers, clock: wallClock, logger },
    { routeCache: settings.routeCache, hotCopyBytes: settings.capacityMB * MIB * HOT_COPY_SHARE },
  );
  dht.addRangeHolder(service.range);
  const endpoint = new CacheOwnerEndpoint(owner, locator);
  const peerServer = createPeerServer(endpoint, credentials, logger);
  return { origin, owner, peers, service, endpoint, peerServer, guard };
}

/** Evicts cached objects when resident memory nears the ceiling (CACHE_MEMORY_LIMIT_MB or the container's). */
function memoryGuard(settings: Settings, store: ObjectStore, signal: AbortSignal, logger: Logger): MemoryGuard | undefined {
  const container = containerMemoryLimit();
  const limitBytes = memoryCeilingBytes(settings.memoryLimitMB, container);
  logger.info({ containerLimitBytes: container ?? null, memoryLimitBytes: limitBytes ?? null }, limitBytes ? 'cache keeps resident memory under its ceiling' : 'no memory ceiling');
  if (!limitBytes) return undefined;
  const guard = new MemoryGuard(store, () => process.memoryUsage.rss(), wallClock, { limitBytes });
  store.onStored((bytes) => guard.stored(bytes));
  repeat(wallClock, systemRng(), MEMORY_CHECK_INTERVAL_MS, async () => void guard.check(), signal, (err) => logger.warn({ err }, 'memory check failed'));
  return guard;
}

/** BOOTSTRAP_MODE=route53: the SDK is loaded only by nodes that use it. */
async function route53Registry(settings: Settings, addr: string, logger: Logger) {
  const { Route53Registry } = await import('./route53-registry.js');
  return new Route53Registry(
    { zoneId: settings.route53ZoneId, suffix: settings.route53Suffix, ttlSeconds: settings.route53TtlSeconds, region: settings.route53Region, endpoint: settings.route53Endpoint },
    addr,
    logger,
  );
}

function closeHttp(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
