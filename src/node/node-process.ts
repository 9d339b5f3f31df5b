import type * as grpc from '@grpc/grpc-js';
import type { Server as HttpServer } from 'node:http';
import { hostname } from 'node:os';
import { CachePeers } from '../cache/cache-peers.js';
import { cacheImplementation } from '../cache/cache-rpc-service.js';
import { CacheService } from '../cache/cache-service.js';
import { HotKeys } from '../cache/hot-keys.js';
import { ObjectStore } from '../cache/object-store.js';
import { OriginPolicy } from '../cache/origin/address-policy.js';
import { OriginClient } from '../cache/origin/origin-client.js';
import { OwnerCache } from '../cache/owner-cache.js';
import { createHttpServer } from '../http/http-server.js';
import { listenHttp } from '../http/listen.js';
import { dashboardFigures } from '../http/metrics.js';
import { IdSpace } from '../id/id-space.js';
import { freeBalancedId } from '../id/placement.js';
import type { Settings } from '../config/settings.js';
import { wallClock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { systemRng, type Rng } from '../runtime/rng.js';
import { withDeadline } from '../transport/deadline.js';
import type { Transport } from '../transport/transport.js';
import { withDelay } from '../transport/delay.js';
import { createServer, dhtImplementation, listen, shutdown } from '../transport/grpc/grpc-server.js';
import { GrpcTransport } from '../transport/grpc/grpc-transport.js';
import { services } from '../transport/grpc/protos.js';
import { advertisedHost, joinHostPort } from './address.js';
import { bootstrap, dnsPeers, staticPeers, type PeerSource } from './bootstrap.js';
import { clientApiImplementation } from './client-api.js';
import { DhtNode } from './dht-node.js';
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
const MIB = 1024 * 1024;

export interface NodeProcess {
  readonly dht: DhtNode;
  readonly addr: string;
  /** Resolves once the node is in a ring (created or joined). */
  readonly ready: Promise<'created' | 'joined'>;
  /** Resolves if the node left because another joined with its id at the same instant (see DhtNode): restart it as a new node. */
  readonly displaced: Promise<void>;
  /** SIGTERM: hand data to the successor, tell neighbours, save state, stop. */
  leave(): Promise<void>;
}

/**
 * The composition root of a real node: gRPC on NODE_PORT (dht.v1, client.v1, grpc.health.v1),
 * the DhtNode with its store reloaded from STATE_FILE, and the bootstrap into a ring.
 */
export async function startNodeProcess(settings: Settings, logger: Logger): Promise<NodeProcess> {
  const host = advertisedHost(settings);
  const addr = joinHostPort(host, settings.port);
  const ids = new IdSpace(settings.idBits);
  const state = settings.stateFile ? await readState(settings.stateFile) : undefined;
  const placement = initialPlacement(settings, state?.id, addr, hostname(), ids);
  const transport = new GrpcTransport();
  const dhtTransport = settings.hopDelayMs > 0 ? withDelay(transport, wallClock, settings.hopDelayMs) : transport;
  const rng = systemRng();
  const peers =
    settings.bootstrapMode === 'dns'
      ? dnsPeers(settings.bootstrapDnsName, settings.port, addr, settings.bootstrapDnsServer || undefined)
      : staticPeers(settings.bootstrapPeers, addr);
  // A balanced joiner's id is fixed before it joins: it finds the ring and picks through a member first.
  const start = placement.balanceOnJoin
    ? await pickBalancedId(dhtTransport, peers, { ids, rng, logger, failureTimeoutMs: settings.failureTimeoutMs, hashedId: placement.id })
    : { id: placement.id, creates: false };
  const id = start.id;
  const stopTracing = settings.tracingEnabled ? startTracing(settings.tracingEndpoint, { addr, id: ids.toHex(id), protocol: settings.protocol }) : undefined;
  let onDisplaced: () => void = () => {};
  const displaced = new Promise<void>((resolve) => (onDisplaced = resolve));
  const dht = new DhtNode(
    { transport: dhtTransport, clock: wallClock, rng, logger, onDisplaced: () => onDisplaced() },
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
    },
  );
  for (const item of state?.items ?? []) dht.store.items.merge(item);

  const server: grpc.Server = createServer();
  server.addService(services().dht.service, dhtImplementation(dht.handlers));
  server.addService(services().client.service, clientApiImplementation(dht));
  server.addService(services().health.service, healthImplementation(() => dht.status === 'READY'));
  const cache = settings.cacheEnabled ? webCache(settings, dht, logger) : undefined;
  if (cache) server.addService(services().cache.service, cache.rpc);
  await listen(server, settings.bind, settings.port);
  const metrics = { dht, cache: cache && { service: cache.service, owner: cache.owner, capacityBytes: settings.capacityMB * MIB } };
  dht.setFigures(() => dashboardFigures(metrics, settings.httpPort));
  const http = createHttpServer({
    dht,
    metrics,
    cache: cache?.service,
    gateway: settings.origin && cache ? { origin: new URL(settings.origin), client: cache.origin } : undefined,
    logger,
  });
  await listenHttp(http, settings.httpPort, settings.bind);
  logger.info({ addr, http: settings.httpPort, id: ids.toHex(id), idStrategy: settings.idStrategy, protocol: settings.protocol, restoredItems: state?.items.length ?? 0 }, 'node listening');

  const ready = start.creates ? Promise.resolve(dht.create()).then(() => 'created' as const) : bootstrap(dht, peers, { clock: wallClock, rng, logger }, dht.signal);
  ready.catch(() => {}); // awaited by the caller; this only keeps an early abort from being unhandled

  return {
    dht,
    addr,
    ready,
    displaced,
    async leave() {
      if (dht.status !== 'NOT_INITIALIZED') await dht.leave();
      else dht.stop();
      if (settings.stateFile) {
        await writeState(settings.stateFile, { format: 1, id: ids.toHex(dht.self.id), addr, savedAt: new Date().toISOString(), items: dht.store.items.all() });
      }
      await shutdown(server, SHUTDOWN_GRACE_MS);
      await closeHttp(http);
      transport.close();
      cache?.peers.close();
      await cache?.origin.close();
      await stopTracing?.();
      logger.info({ addr }, 'node stopped');
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

/** The web cache of one node: origin client, owner store, entry-side request flow, and its gRPC service. */
function webCache(settings: Settings, dht: DhtNode, logger: Logger) {
  const origin = new OriginClient({ policy: new OriginPolicy(settings.originAllowlist), maxBodyBytes: settings.maxObjectMB * MIB });
  const owner = new OwnerCache(
    new ObjectStore(settings.capacityMB * MIB, dht.ids),
    origin,
    new HotKeys(wallClock, settings.hotspotThreshold, settings.hotspotDecay),
    { defaultTtlSeconds: settings.defaultTtlSeconds },
    dht.signal,
  );
  const peers = new CachePeers(settings.failureTimeoutMs * 10, FORWARD_HEAD_TIMEOUT_MS, settings.hopDelayMs);
  const service = new CacheService(
    { dht, owner, peers, clock: wallClock, logger },
    { routeCache: settings.routeCache, hotCopyBytes: settings.capacityMB * MIB * HOT_COPY_SHARE },
  );
  dht.addRangeHolder({ onNewPredecessor: (previous, joined) => service.onNewPredecessor(previous, joined), handOff: () => service.handOff() });
  const rpc = cacheImplementation({ owner, owns: (url) => service.owns(url), accept: (variants) => service.accept(variants) });
  return { origin, owner, peers, service, rpc };
}

function closeHttp(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
