import type * as grpc from '@grpc/grpc-js';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CacheService } from '../cache/cache-service.js';
import { HotKeys } from '../cache/hot-keys.js';
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
import type { Settings } from '../config/settings.js';
import { wallClock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { systemRng } from '../runtime/rng.js';
import { withDelay } from '../transport/delay.js';
import { cacheControlImplementation } from '../transport/grpc/cache-control-service.js';
import { CacheControlClient } from '../transport/grpc/cache-control-client.js';
import { createServer, dhtImplementation, listen, shutdown } from '../transport/grpc/grpc-server.js';
import { GrpcTransport } from '../transport/grpc/grpc-transport.js';
import type { GrpcCredentials } from '../transport/grpc/tls.js';
import { services } from '../transport/grpc/protos.js';
import { HttpCachePeers } from '../transport/http-peer/http-cache-peers.js';
import { createPeerServer } from '../transport/http-peer/peer-server.js';
import { advertisedHost, joinHostPort } from './address.js';
import { bootstrap, dnsPeers, staticPeers } from './bootstrap.js';
import { clientApiImplementation } from './client-api.js';
import { DhtNode } from './dht-node.js';
import { dhtOwnerLocator } from './dht-owner-locator.js';
import { healthImplementation } from './health-service.js';
import { readState, writeState } from './state-file.js';
import { startTracing } from './tracing.js';

/** How long in-flight calls may finish once the node stops serving. */
const SHUTDOWN_GRACE_MS = 2000;
/** How long an owner may take to answer a forwarded request: its whole origin fetch included. */
const FORWARD_HEAD_TIMEOUT_MS = 60_000;
/** Share of the cache budget an entry node may spend on copies of other owners' hot objects. */
const HOT_COPY_SHARE = 1 / 16;
/** Keep-alive connections an entry holds to each owner's peer port. */
const PEER_CONNECTIONS = 16;
const MIB = 1024 * 1024;

export interface NodeProcess {
  readonly dht: DhtNode;
  readonly addr: string;
  /** Resolves once the node is in a ring (created or joined). */
  readonly ready: Promise<'created' | 'joined'>;
  /** SIGTERM: hand data to the successor, tell neighbours, save state, stop. */
  leave(): Promise<void>;
}

/**
 * The composition root of a real node: gRPC on NODE_PORT (dht.v1, client.v1, grpc.health.v1),
 * the DhtNode with its store reloaded from STATE_FILE, and the bootstrap into a ring.
 */
export async function startNodeProcess(settings: Settings, logger: Logger, credentials: GrpcCredentials): Promise<NodeProcess> {
  const host = advertisedHost(settings);
  const addr = joinHostPort(host, settings.port);
  const ids = new IdSpace(settings.idBits);
  const state = settings.stateFile ? await readState(settings.stateFile) : undefined;
  // NODE_ID wins; else the saved id, so a pod rescheduled with a new IP keeps its ring position.
  const id = settings.nodeId ? ids.parseHex(settings.nodeId) : state ? ids.parseHex(state.id) : ids.hash(addr);
  const stopTracing = settings.tracingEnabled ? startTracing(settings.tracingEndpoint, { addr, id: ids.toHex(id), protocol: settings.protocol }) : undefined;
  const transport = new GrpcTransport(ids, credentials);
  const dht = new DhtNode(
    {
      transport: settings.hopDelayMs > 0 ? withDelay(transport, wallClock, settings.hopDelayMs) : transport,
      clock: wallClock,
      rng: systemRng(),
      logger,
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
    await listenHttp(cache.peerServer, settings.peerPort, settings.bind);
    const peerPort = (cache.peerServer.address() as AddressInfo).port;
    server.addService(services().cache.service, cacheControlImplementation(cache.endpoint, () => peerPort));
  }
  await listen(server, settings.bind, settings.port, credentials);
  const metrics = { dht, cache: cache && { service: cache.service, owner: cache.owner, capacityBytes: settings.capacityMB * MIB } };
  dht.setFigures(() => dashboardFigures(metrics, settings.httpPort));
  const http = createHttpServer({
    dht,
    metrics,
    cache: cache?.service,
    gateway: settings.origin && cache ? { origin: new URL(settings.origin), client: cache.origin } : undefined,
    openProxy: settings.openProxy ?? !settings.origin,
    clock: wallClock,
    logger,
  });
  await listenHttp(http, settings.httpPort, settings.bind);
  logger.info({ addr, http: settings.httpPort, id: ids.toHex(id), protocol: settings.protocol, restoredItems: state?.items.length ?? 0 }, 'node listening');

  const peers =
    settings.bootstrapMode === 'dns'
      ? dnsPeers(settings.bootstrapDnsName, settings.port, addr, settings.bootstrapDnsServer || undefined)
      : staticPeers(settings.bootstrapPeers, addr);
  const ready = bootstrap(dht, peers, { clock: wallClock, rng: systemRng(), logger }, dht.signal);
  ready.catch(() => {}); // awaited by the caller; this only keeps an early abort from being unhandled

  return {
    dht,
    addr,
    ready,
    async leave() {
      if (dht.status !== 'NOT_INITIALIZED') await dht.leave();
      else dht.stop();
      if (settings.stateFile) {
        await writeState(settings.stateFile, { format: 1, id: ids.toHex(id), addr, savedAt: new Date().toISOString(), items: dht.store.items.all() });
      }
      await shutdown(server, SHUTDOWN_GRACE_MS);
      await closeHttp(http);
      if (cache) await closeHttp(cache.peerServer);
      transport.close();
      cache?.peers.close();
      await cache?.origin.close();
      await stopTracing?.();
      logger.info({ addr }, 'node stopped');
    },
  };
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
  const owner = new OwnerCache(
    new ObjectStore(settings.capacityMB * MIB, dht.ids),
    origin,
    new HotKeys(wallClock, settings.hotspotThreshold, settings.hotspotDecay),
    { defaultTtlSeconds: settings.defaultTtlSeconds, storeSetCookie: settings.storeSetCookie },
    dht.signal,
  );
  const peers = new HttpCachePeers(new CacheControlClient(credentials, wallClock, settings.failureTimeoutMs * 10), credentials, wallClock, {
    headTimeoutMs: FORWARD_HEAD_TIMEOUT_MS,
    hopDelayMs: settings.hopDelayMs,
    maxBodyBytes: settings.maxObjectMB * MIB,
    connectionsPerPeer: PEER_CONNECTIONS,
  });
  const locator = dhtOwnerLocator(dht);
  const service = new CacheService(
    { locator, owner, peers, clock: wallClock, logger },
    { routeCache: settings.routeCache, hotCopyBytes: settings.capacityMB * MIB * HOT_COPY_SHARE },
  );
  dht.addRangeHolder({ onNewPredecessor: (previous, joined) => service.onNewPredecessor(previous, joined), handOff: () => service.handOff() });
  const endpoint = new CacheOwnerEndpoint(owner, locator);
  const peerServer = createPeerServer(endpoint, credentials, logger);
  return { origin, owner, peers, service, endpoint, peerServer };
}

function closeHttp(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
