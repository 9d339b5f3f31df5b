import { LRUCache } from 'lru-cache';
import type { IdSpace } from '../id/id-space.js';
import { SlabArena, slabBytesFor } from './slab-arena.js';
import { entryBytes } from './entry-size.js';
import { CREDENTIAL_HEADERS, type Headers } from './freshness.js';
import { fieldText } from './rfc9111/directives.js';
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
  const names = fieldText(responseHeaders.vary)
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
 * URL, holding each URL's variants together so they move and expire as one. Small entries share
 * slabs (slab-arena.ts); the slab memory they leave unused counts against the same budget.
 */
export class ObjectStore {
  private readonly lru: LRUCache<string, Held>;
  private readonly arena: SlabArena;
  /** Arena waste that starts a compaction; half of it is what a compaction aims to leave. */
  private readonly compactAtWaste: number;
  #compactAt: number;
  #evictions = 0;
  #storedListener: ((bytes: number) => void) | undefined;

  constructor(
    readonly capacityBytes: number,
    private readonly ids: IdSpace,
  ) {
    this.arena = new SlabArena(slabBytesFor(capacityBytes));
    this.compactAtWaste = Math.max(capacityBytes / 8, 2 * this.arena.slabSize);
    this.#compactAt = this.compactAtWaste;
    this.lru = new LRUCache<string, Held>({
      maxSize: Math.max(1, capacityBytes),
      sizeCalculation: (held) => Math.max(1, variantsOf(held).reduce((sum, v) => sum + entryBytes(v, this.arena.holds(v.memory)), 0)),
      dispose: (held, _key, reason) => {
        if (reason === 'evict') this.#evictions++;
        // A replaced URL's variants are released by put, which knows which of them it keeps.
        if (reason !== 'set') for (const v of variantsOf(held)) this.arena.release(v.bytes);
      },
    });
  }

  get evictions(): number {
    return this.#evictions;
  }

  /** Accounted bytes: the entries and the slab memory small bodies leave unused. */
  get sizeBytes(): number {
    return this.lru.calculatedSize + this.arena.wasteBytes;
  }

  /** Slab memory no stored body uses (included in sizeBytes). */
  get arenaWasteBytes(): number {
    return this.arena.wasteBytes;
  }

  /** Stored URLs (each may hold several variants). */
  get entryCount(): number {
    return this.lru.size;
  }

  /** Whether any variant of the URL is stored; recency unchanged. */
  has(url: string): boolean {
    return this.lru.has(url);
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
    const kept = StoredVariant.of(variant, stored[0]?.url ?? variant.url, (length) => (this.arena.packs(length) ? this.arena.allocate(length) : undefined));
    const bytes = entryBytes(kept, this.arena.holds(kept.memory));
    if (bytes > this.capacityBytes) {
      this.arena.release(kept.bytes);
      return false;
    }
    const next = [...stored.filter((v) => !v.sameSelection(kept)), kept].slice(-MAX_VARIANTS_PER_URL);
    for (const v of stored) if (!next.includes(v)) this.arena.release(v.bytes);
    const held = next.length === 1 ? kept : next;
    this.lru.set(kept.url, held);
    if (this.lru.peek(kept.url) !== held) {
      // Variants that together outgrow the capacity: the LRU dropped the URL (its reason 'set' releases nothing).
      for (const v of next) this.arena.release(v.bytes);
      return false;
    }
    this.fitArenaWaste();
    // Making room for the arena's waste can evict the URL itself (dispose releases its bodies).
    if (!this.lru.has(kept.url)) return false;
    this.#storedListener?.(bytes);
    return true;
  }

  /**
   * Keeps entries plus arena waste within the capacity: evicts what is over, oldest first,
   * compacting the arena whenever its waste has grown past the trigger. An entry evicted from a
   * slab still in use frees only its overhead until the slab empties or is compacted, so without
   * compacting between evictions one store could evict a slab's worth of entries (16 KiB objects
   * in 1 MiB slabs: `bench/slab-churn.ts 16384` kept 3 230 entries, 3 532 with it).
   */
  private fitArenaWaste(): void {
    this.compactArena();
    // Each eviction takes an entry's whole size and adds at most its body to the waste: this ends.
    while (this.lru.size > 0 && this.sizeBytes > this.capacityBytes) {
      this.lru.pop();
      this.compactArena();
    }
  }

  /**
   * Past the trigger, moves the bodies of the sparsest slabs into the current one (one pass over
   * the entries). The next pass waits until as much waste again has gathered: slabs too full to
   * be worth emptying must not make every store scan the entries.
   */
  private compactArena(): void {
    if (this.arena.wasteBytes <= this.#compactAt) return;
    const emptied = this.arena.sparsestSlabs(this.compactAtWaste / 2);
    if (emptied.size > 0) for (const held of this.lru.values()) for (const v of variantsOf(held)) if (emptied.has(v.memory)) v.moveBytes(this.arena.move(v.bytes));
    this.#compactAt = Math.max(this.compactAtWaste, this.arena.wasteBytes + this.compactAtWaste / 2);
  }

  /** Tells `listener` the accounted size of every variant stored (the memory guard watches stores). */
  onStored(listener: (bytes: number) => void): void {
    this.#storedListener = listener;
  }

  /**
   * Evicts least recently used URLs until entries of `bytes` of accounted size are gone, then
   * compacts the arena if their slab bytes left it past its trigger; returns how many. Counted
   * by the entries, not by `sizeBytes`: an entry's slab bytes become waste until its slab is
   * emptied, so waiting for `sizeBytes` to fall would evict far more than `bytes` of entries
   * while the slabs they leave are still in use.
   */
  evictOldest(bytes: number): number {
    const target = this.lru.calculatedSize - bytes;
    let evicted = 0;
    for (; this.lru.size > 0 && this.lru.calculatedSize > target; evicted++) this.lru.pop();
    this.compactArena();
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
