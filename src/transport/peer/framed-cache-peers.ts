import type { CachePeers, ForwardedResponse, ForwardOptions } from '../../cache/cache-peers.js';
import type { Variant } from '../../cache/stored-variant.js';
import type { CacheRequest } from '../../cache/owner-cache.js';
import { sleep, type Clock } from '../../runtime/clock.js';
import { traceHeaders, tracingOn } from '../../runtime/telemetry.js';
import { DEFAULT_PEER_CHANNELS, PeerChannels } from '../grpc/peer-channels.js';
import type { GrpcCredentials } from '../grpc/tls.js';
import { PeerConnection } from './peer-connection.js';
import { fetchRequestToWire } from './peer-wire.js';

export interface FramedCachePeersInit {
  /** How long an owner may take to send a response head (its origin fetch included), and then each body frame. */
  readonly headTimeoutMs: number;
  /** DHT_HOP_DELAY: the lab delay every node-to-node call gets, forwards included. */
  readonly hopDelayMs: number;
  /** A body longer than this (CACHE_MAX_OBJECT_MB) is cut off: no owner sends one. */
  readonly maxBodyBytes: number;
}

/** What the data channel needs of the control plane (the gRPC CacheControlClient in a node). */
export interface PeerControl {
  store(addr: string, variants: readonly Variant[], signal?: AbortSignal): Promise<void>;
  invalidate(addr: string, url: string): Promise<void>;
  /** The port of the peer's data channel, on the host of its ring address. */
  peerPort(addr: string): Promise<number>;
  close(): void;
}

/**
 * The entry's side of the peer data channel: forwarded requests go to the owner's peer port
 * over one persistent connection per owner, multiplexed (frames.ts); hand-offs and
 * invalidations stay on the gRPC control plane, which also tells where an owner's peer port is.
 * Only ring addresses are ever dialled: the host is the owner's ring address's, the port the
 * owner's own answer.
 */
export class FramedCachePeers implements CachePeers {
  private readonly connections: PeerChannels<PeerConnection>;
  /** Port lookups in flight, so concurrent first requests to an owner ask once. */
  private readonly learning = new Map<string, Promise<PeerConnection>>();

  constructor(
    private readonly control: PeerControl,
    private readonly credentials: GrpcCredentials,
    private readonly clock: Clock,
    private readonly init: FramedCachePeersInit,
  ) {
    this.connections = new PeerChannels<PeerConnection>({ ...DEFAULT_PEER_CHANNELS, clock });
  }

  async fetch(addr: string, req: CacheRequest, options: ForwardOptions): Promise<ForwardedResponse> {
    const { signal } = options;
    if (this.init.hopDelayMs > 0) await sleep(this.clock, this.init.hopDelayMs, signal);
    const connection = this.connections.get(addr) ?? (await this.connect(addr));
    const trace = tracingOn() ? traceHeaders() : undefined;
    return connection.fetch(fetchRequestToWire(req, options.fromRouteCache, trace), `fetch of ${req.url.slice(0, 200)}`, signal, req.onInterim);
  }

  store(addr: string, variants: readonly Variant[], signal?: AbortSignal): Promise<void> {
    return this.control.store(addr, variants, signal);
  }

  invalidate(addr: string, url: string): Promise<void> {
    return this.control.invalidate(addr, url);
  }

  close(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
    this.control.close();
  }

  /** The owner's connection; its port is asked for once, by whichever request meets it first. */
  private connect(addr: string): Promise<PeerConnection> {
    let pending = this.learning.get(addr);
    if (!pending) {
      // Not cancelled with one client's request: others may wait for the same answer (it has a deadline).
      pending = this.control.peerPort(addr).then((port) => {
        const host = addr.slice(0, addr.lastIndexOf(':'));
        const connection = new PeerConnection(
          host,
          port,
          this.credentials.material,
          { silenceTimeoutMs: this.init.headTimeoutMs, maxBodyBytes: this.init.maxBodyBytes },
          addr,
          (closed) => this.forget(addr, closed),
        );
        this.connections.set(addr, connection);
        return connection;
      });
      const settled = () => this.learning.delete(addr);
      pending.then(settled, settled);
      this.learning.set(addr, pending);
    }
    return pending;
  }

  /** A failed connection is dropped: the owner may have restarted on another port, learned again next time. */
  private forget(addr: string, connection: PeerConnection): void {
    if (this.connections.get(addr) === connection) this.connections.delete(addr);
  }
}
