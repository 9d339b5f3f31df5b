import { DhtError } from '../errors.js';
import type { CachePeers, ForwardedResponse, ForwardOptions } from './cache-peers.js';
import type { Variant } from './stored-variant.js';
import type { CacheRequest } from './owner-cache.js';
import type { OwnerEndpoint } from './owner-endpoint.js';

/**
 * Cache peers in one process: addresses map to owner endpoints, as the memory network maps
 * them to DHT handlers. Failures look as they would over the network: an unknown or removed
 * address is unreachable, and whatever an owner throws reaches the entry as a DhtError.
 */
export class MemoryCachePeers implements CachePeers {
  private readonly endpoints = new Map<string, OwnerEndpoint>();
  /** Calls per address and kind, for tests that count what crossed the "wire". */
  readonly calls: { addr: string; kind: 'fetch' | 'store' | 'invalidate' }[] = [];

  add(addr: string, endpoint: OwnerEndpoint): void {
    this.endpoints.set(addr, endpoint);
  }

  /** The node at `addr` is gone (crashed or left): calls to it fail as unreachable. */
  remove(addr: string): void {
    this.endpoints.delete(addr);
  }

  async fetch(addr: string, req: CacheRequest, options: ForwardOptions): Promise<ForwardedResponse> {
    const response = await this.call(addr, 'fetch', (owner) => owner.serve(req, options));
    const { body, ...head } = response;
    return { head, chunks: oneChunk(body) };
  }

  store(addr: string, variants: readonly Variant[]): Promise<void> {
    return this.call(addr, 'store', (owner) => owner.accept(variants));
  }

  invalidate(addr: string, url: string): Promise<void> {
    return this.call(addr, 'invalidate', async (owner) => owner.invalidate(url));
  }

  close(): void {
    this.endpoints.clear();
  }

  private async call<T>(addr: string, kind: 'fetch' | 'store' | 'invalidate', work: (owner: OwnerEndpoint) => Promise<T>): Promise<T> {
    this.calls.push({ addr, kind });
    const owner = this.endpoints.get(addr);
    if (!owner) throw new DhtError('ERR_UNREACHABLE', `${kind} to ${addr}: no such peer`);
    try {
      return await work(owner);
    } catch (err) {
      // A peer's own bug reaches its caller as the network would carry it: a remote ERR_INTERNAL.
      throw err instanceof DhtError ? err : new DhtError('ERR_INTERNAL', `${kind} to ${addr}: ${(err as Error).message}`, { cause: err });
    }
  }
}

async function* oneChunk(body: Buffer): AsyncIterable<Buffer> {
  if (body.length > 0) yield body;
}
