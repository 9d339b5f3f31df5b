import * as grpc from '@grpc/grpc-js';
import { DhtError } from '../../errors.js';
import { sleep, type Clock } from '../../runtime/clock.js';
import { traceHeaders } from '../../runtime/telemetry.js';
import type { CachePeers, ForwardedResponse, ForwardOptions } from '../../cache/cache-peers.js';
import { batchByBytes, headersToWire, headFromWire, variantToWire, wireVariantBytes, type WireHead } from '../../cache/cache-wire.js';
import type { Variant } from '../../cache/object-store.js';
import type { CacheRequest } from '../../cache/owner-cache.js';
import { fromServiceError } from './errors.js';
import { PeerChannels } from './peer-channels.js';
import { services } from './protos.js';
import type { GrpcCredentials } from './tls.js';

type Stub = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/**
 * Bytes per StoreObjects call during a hand-off: well under the gRPC message limit, so a batch
 * always fits; a larger object goes alone (CACHE_MAX_OBJECT_MB is checked against that limit).
 */
const HANDOFF_BATCH_BYTES = 16 * 1024 * 1024;

export interface GrpcCachePeersInit {
  /** Deadline of the small calls (hand-offs, invalidations). */
  readonly callTimeoutMs: number;
  /** How long an owner may take to send a response head: its origin fetch included. */
  readonly headTimeoutMs: number;
  /** DHT_HOP_DELAY: the lab delay every node-to-node call gets, forwards included. */
  readonly hopDelayMs: number;
}

/** The calls an entry node makes to an owner, over dht.v1.Cache. */
export class GrpcCachePeers implements CachePeers {
  /** Closed once idle, so stubs of owners that left do not pile up. */
  private readonly stubs = new PeerChannels<Stub>();

  constructor(
    private readonly credentials: GrpcCredentials,
    private readonly clock: Clock,
    private readonly init: GrpcCachePeersInit,
  ) {}

  async fetch(addr: string, req: CacheRequest, options: ForwardOptions): Promise<ForwardedResponse> {
    const { signal } = options;
    if (this.init.hopDelayMs > 0) await sleep(this.clock, this.init.hopDelayMs, signal);
    const metadata = new grpc.Metadata();
    for (const [name, value] of Object.entries(traceHeaders())) metadata.set(name, value);
    const call = this.stub(addr).Fetch!(
      { url: req.url, method: req.method, headers: headersToWire(req.headers), from_route_cache: options.fromRouteCache },
      metadata,
    ) as grpc.ClientReadableStream<{ head?: WireHead; chunk?: Buffer }>;
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    const iterator = call[Symbol.asyncIterator]();
    const context = `fetch of ${req.url} from ${addr}`;
    // The head comes once the owner has the object (from its store or its origin).
    const timer = this.clock.setTimeout(() => call.cancel(), this.init.headTimeoutMs);
    return iterator.next().then(
      (first) => {
        timer.cancel();
        if (first.done || !first.value.head) throw new DhtError('ERR_INTERNAL', `${context}: the owner sent no response head`);
        const chunks = (async function* () {
          try {
            for (;;) {
              const next = await iterator.next();
              if (next.done) return;
              if (next.value.chunk) yield Buffer.from(next.value.chunk);
            }
          } catch (err) {
            throw fromServiceError(err as grpc.ServiceError, context);
          } finally {
            signal?.removeEventListener('abort', onAbort);
          }
        })();
        return { head: headFromWire(first.value.head), chunks };
      },
      (err: grpc.ServiceError) => {
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        throw signal?.aborted ? signal.reason : fromServiceError(err, context);
      },
    );
  }

  async store(addr: string, variants: readonly Variant[]): Promise<void> {
    for (const batch of batchByBytes(variants.map(variantToWire), wireVariantBytes, HANDOFF_BATCH_BYTES)) {
      await this.unary(addr, 'StoreObjects', { variants: batch });
    }
  }

  async invalidate(addr: string, url: string): Promise<void> {
    await this.unary(addr, 'Invalidate', { url });
  }

  close(): void {
    for (const stub of this.stubs.values()) stub.close();
    this.stubs.clear();
  }

  private unary(addr: string, method: string, request: object): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stub(addr)[method]!(request, { deadline: new Date(this.clock.now() + this.init.callTimeoutMs) }, (err: grpc.ServiceError | null) =>
        err ? reject(fromServiceError(err, `${method} to ${addr}`)) : resolve(),
      );
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
