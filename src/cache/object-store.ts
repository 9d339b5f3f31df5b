import { LRUCache } from 'lru-cache';
import type { IdSpace } from '../id/id-space.js';
import { entryBytes } from './entry-size.js';
import { CREDENTIAL_HEADERS, headerText, type Headers } from './freshness.js';
import { varyValue } from './rfc9111/vary.js';
import { StoredVariant, type Variant } from './stored-variant.js';

/** Variants kept per URL: a Vary on a header clients choose freely must not grow one entry without end. */
export const MAX_VARIANTS_PER_URL = 32;

/**
 * The request header values a response's Vary names; undefined when it is never to be reused:
 * `Vary: *`, or a Vary on credentials (Authorization, Cookie), which would make the stored
 * selector a copy of a client's secret that hand-offs carry to other nodes.
 */
export function varySelection(responseHeaders: Headers, requestHeaders: Headers): Record<string, string> | undefined {
  const names = headerText(responseHeaders.vary)
    .toLowerCase()
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.some((n) => n === '*' || CREDENTIAL_HEADERS.has(n))) return undefined;
  return Object.fromEntries(names.sort().map((n) => [n, varyValue(n, requestHeaders[n])]));
}

/** A URL's variants: most URLs have one, kept without an array around it. */
type Held = StoredVariant | StoredVariant[];

function variantsOf(held: Held | undefined): StoredVariant[] {
  return held === undefined ? [] : Array.isArray(held) ? held : [held];
}

/**
 * The objects a node owns: an LRU bounded by the heap its entries take (entry-size.ts), keyed by
 * URL, holding each URL's variants together so they move and expire as one.
 */
export class ObjectStore {
  private readonly lru: LRUCache<string, Held>;
  #evictions = 0;
  #storedListener: ((bytes: number) => void) | undefined;

  constructor(
    readonly capacityBytes: number,
    private readonly ids: IdSpace,
  ) {
    this.lru = new LRUCache<string, Held>({
      maxSize: Math.max(1, capacityBytes),
      sizeCalculation: (held) => Math.max(1, Array.isArray(held) ? held.reduce((sum, v) => sum + entryBytes(v), 0) : entryBytes(held)),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.#evictions++;
      },
    });
  }

  get evictions(): number {
    return this.#evictions;
  }

  get sizeBytes(): number {
    return this.lru.calculatedSize;
  }

  /** Stored URLs (each may hold several variants). */
  get entryCount(): number {
    return this.lru.size;
  }

  /** The variant a request selects, refreshing the URL's recency. */
  find(url: string, requestHeaders: Headers): StoredVariant | undefined {
    const held = this.lru.get(url);
    if (held === undefined || !Array.isArray(held)) return held?.selects(requestHeaders) ? held : undefined;
    for (const v of held) if (v.selects(requestHeaders)) return v;
    return undefined;
  }

  /**
   * Stores a variant in place of the one with the same selecting header values, dropping the
   * oldest past MAX_VARIANTS_PER_URL; false if it can never fit.
   */
  put(variant: Variant): boolean {
    const stored = variantsOf(this.lru.peek(variant.url));
    // The URL string once per stored URL: the LRU keeps the key it was first given.
    const kept = StoredVariant.of(variant, stored[0]?.url ?? variant.url);
    const bytes = entryBytes(kept);
    if (bytes > this.capacityBytes) return false;
    const others = stored.filter((v) => !v.sameSelection(kept));
    this.lru.set(kept.url, others.length === 0 ? kept : [...others, kept].slice(-MAX_VARIANTS_PER_URL));
    this.#storedListener?.(bytes);
    return true;
  }

  /** Tells `listener` the accounted size of every variant stored (the memory guard watches stores). */
  onStored(listener: (bytes: number) => void): void {
    this.#storedListener = listener;
  }

  /** Evicts least recently used URLs until `bytes` of accounted size are gone; returns how many. */
  evictOldest(bytes: number): number {
    const target = this.lru.calculatedSize - bytes;
    let evicted = 0;
    for (; this.lru.size > 0 && this.lru.calculatedSize > target; evicted++) this.lru.pop();
    return evicted;
  }

  delete(url: string): boolean {
    return this.lru.delete(url);
  }

  /** Every URL whose key lies in (from, to], with its variants: what a new owner takes over. */
  inRange(from: bigint, to: bigint): StoredVariant[][] {
    const out: StoredVariant[][] = [];
    for (const [url, held] of this.lru.entries()) if (this.ids.inHalfOpen(this.ids.hash(url), from, to)) out.push(variantsOf(held));
    return out;
  }

  all(): StoredVariant[][] {
    return [...this.lru.values()].map(variantsOf);
  }
}
