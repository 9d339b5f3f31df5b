import type * as grpc from '@grpc/grpc-js';
import { batchByBytes, variantToWire, wireVariantBytes } from '../../cache/cache-wire.js';
import type { Variant } from '../../cache/stored-variant.js';
import { DhtError } from '../../errors.js';
import { abortable } from '../../runtime/abort.js';
import type { Clock } from '../../runtime/clock.js';
import { fromServiceError } from './errors.js';
import { DEFAULT_PEER_CHANNELS, PeerChannels } from './peer-channels.js';
import { services } from './protos.js';
import type { GrpcCredentials } from './tls.js';

type Stub = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/**
 * Bytes per StoreObjects call during a hand-off: well under the gRPC message limit, so a batch
 * always fits; a larger object goes alone (CACHE_MAX_OBJECT_MB is checked against that limit).
 */
const HANDOFF_BATCH_BYTES = 16 * 1024 * 1024;

/** The control-plane calls of cache.v1.Cache: hand-offs, invalidations, and where a peer's data channel is. */
export class CacheControlClient {
  /** Closed once idle, so stubs of owners that left do not pile up. */
  private readonly stubs: PeerChannels<Stub>;

  constructor(
    private readonly credentials: GrpcCredentials,
    private readonly clock: Clock,
    /** Deadline of each call. */
    private readonly callTimeoutMs: number,
  ) {
    this.stubs = new PeerChannels<Stub>({ ...DEFAULT_PEER_CHANNELS, clock });
  }

  /** Hands objects to their new owner. */
  async store(addr: string, variants: readonly Variant[], signal?: AbortSignal): Promise<void> {
    for (const batch of batchByBytes(variants.map(variantToWire), wireVariantBytes, HANDOFF_BATCH_BYTES)) {
      await this.unary(addr, 'StoreObjects', { variants: batch }, signal);
    }
  }

  async invalidate(addr: string, url: string): Promise<void> {
    await this.unary(addr, 'Invalidate', { url });
  }

  /** The port of the peer's data channel, on the host of its ring address. */
  async peerPort(addr: string): Promise<number> {
    const { port } = await this.unary<{ port: number }>(addr, 'PeerPort', {});
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DhtError('ERR_INTERNAL', `PeerPort to ${addr}: ${port} is not a TCP port`);
    return port;
  }

  close(): void {
    for (const stub of this.stubs.values()) stub.close();
    this.stubs.clear();
  }

  private unary<T = unknown>(addr: string, method: string, request: object, signal?: AbortSignal): Promise<T> {
    return abortable(signal, (resolve, reject) => {
      const call = this.stub(addr)[method]!(request, { deadline: new Date(this.clock.now() + this.callTimeoutMs) }, (err: grpc.ServiceError | null, reply: T) =>
        err ? reject(fromServiceError(err, `${method} to ${addr}`)) : resolve(reply),
      ) as grpc.ClientUnaryCall;
      return () => call.cancel();
    });
  }

  private stub(addr: string): Stub {
    let stub = this.stubs.get(addr);
    if (!stub) {
      stub = this.credentials.client(services().cache, addr) as Stub;
      this.stubs.set(addr, stub);
    }
    return stub;
  }
}
