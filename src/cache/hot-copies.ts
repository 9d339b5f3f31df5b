import { LRUCache } from 'lru-cache';
import type { NodeRef } from '../id/node-ref.js';
import type { Clock } from '../runtime/clock.js';
import type { Headers } from './freshness.js';
import { varySelection } from './object-store.js';
import { unlisted, type ResponseHead } from './cache-wire.js';

/** Longest an entry node serves its copy of a hot object before asking the owner again. */
export const HOT_COPY_TTL_MS = 5000;

export interface HotCopy {
  readonly head: ResponseHead;
  readonly body: Buffer;
  readonly owner: NodeRef;
  readonly selectedBy: Readonly<Record<string, string>>;
  readonly storedAt: number;
}

/**
 * Short-lived copies of objects their owner marked hot, kept by entry nodes so that a hot URL's
 * load spreads over the ring instead of melting its owner. Bounded by bytes, like the store.
 */
export class HotCopies {
  private readonly copies: LRUCache<string, HotCopy>;

  constructor(
    capacityBytes: number,
    private readonly clock: Clock,
  ) {
    this.copies = new LRUCache<string, HotCopy>({
      maxSize: Math.max(1, capacityBytes),
      sizeCalculation: (c) => Math.max(1, c.body.length + 512),
      ttlAutopurge: false,
    });
  }

  get(url: string, requestHeaders: Headers): HotCopy | undefined {
    const copy = this.copies.get(url);
    if (!copy) return undefined;
    const matches = Object.entries(copy.selectedBy).every(([name, value]) => String(requestHeaders[name] ?? '').trim() === value);
    return matches ? copy : undefined;
  }

  put(url: string, head: ResponseHead, body: Buffer, owner: NodeRef, requestHeaders: Headers): void {
    const selectedBy = varySelection(head.headers, requestHeaders);
    const ttl = Math.min(HOT_COPY_TTL_MS, head.freshForMs);
    if (!selectedBy || ttl <= 0) return;
    // Kept as a map without the listed form: each answer from the copy gets its own Age.
    this.copies.set(url, { head: unlisted(head), body, owner, selectedBy, storedAt: this.clock.now() }, { ttl });
  }

  get size(): number {
    return this.copies.size;
  }
}
