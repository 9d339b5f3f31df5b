import type { Headers } from './freshness.js';
import { fromHeaderList, toHeaderList, type HeaderList } from './header-list.js';
import { CachePolicy, NO_CACHE } from './rfc9111/policy.js';
import { varyValue } from './rfc9111/vary.js';
import { recentResults } from '../runtime/memo.js';

/** Fields this cache sets on every answer (Age, the entry node's): an origin's own would only be replaced. */
const SET_BY_CACHE: ReadonlySet<string> = new Set(['age', 'x-cache', 'cache-status', 'x-node-id', 'x-responsible-node', 'x-entry-node', 'x-hops', 'x-latency-ms', 'x-cache-origin']);

/** The policy's rules besides the deadline: must-revalidate and no-cache flags, RFC 5861 windows in seconds. */
interface ReuseRules {
  readonly flags: number;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
}

/** Shared by every variant whose response has none of those: most of them, so they cost no object each. */
const NO_REUSE_RULES: ReuseRules = Object.freeze({ flags: 0, staleWhileRevalidate: 0, staleIfError: 0 });

/**
 * Header names and values the stored lists share, the string kept for an equal one: a header
 * parser makes a new string for every value it reads, while most of a response's fields
 * (Content-Type, Cache-Control, Server, a Date within the same second) repeat across the responses
 * of an origin. The last thousand distinct strings of at most 256 characters are remembered
 * (values seen once, like an ETag, pass through and are forgotten).
 */
const sharedHeaderString = recentResults(1024, 256, (s) => s);

/** Shared by every variant whose response has no Vary: most of them. */
const NO_SELECTION: Readonly<Record<string, string>> = Object.freeze({});

/**
 * A response as the owner stores it (the store keeps it as a StoredVariant): a URL can have
 * several, one per combination of the headers its Vary names.
 */
export interface Variant {
  readonly url: string;
  readonly status: number;
  /** The origin's headers, without hop-by-hop ones. */
  readonly headers: Headers;
  readonly body: Buffer;
  /** Freshness and revalidation rules. */
  readonly policy: CachePolicy;
  /** The request's values of the headers named in Vary (vary.ts's form), which select this variant. */
  readonly selectedBy: Readonly<Record<string, string>>;
}

/**
 * What the store keeps of a response: what a hit needs, precomputed once (the forwardable
 * headers as a list ready for `res.writeHead`, the freshness deadline, the Vary selection, the
 * body in its own allocation) and the policy's few numbers, from which it is rebuilt without
 * parsing when revalidation or a request with its own directives needs it.
 */
export class StoredVariant {
  #body: Buffer;

  private constructor(
    readonly url: string,
    readonly status: number,
    readonly headerList: HeaderList,
    body: Buffer,
    readonly selectedBy: Readonly<Record<string, string>>,
    /** When the response arrived, ms (Date.now()). */
    private readonly responseTime: number,
    /** Its age then, whole seconds (RFC 9111 §4.2.3). */
    private readonly initialAge: number,
    /**
     * How long after `responseTime` it stays fresh, in whole ms: a small integer, which V8 keeps
     * in the object, where a second timestamp would take a heap number of its own.
     */
    private readonly freshMs: number,
    private readonly rules: ReuseRules,
  ) {
    this.#body = body;
  }

  get body(): Buffer {
    return this.#body;
  }

  /** The same bytes elsewhere: the store compacting the slabs small bodies share (body-arena.ts). */
  moveBody(to: Buffer): void {
    this.#body = to;
  }

  /**
   * The compact form of `v`, its URL given as `url` (the store's key, so that the string is kept
   * once), its body as `body` (the store's copy of it, by default one in an allocation of its own).
   */
  static of(v: Variant, url = v.url, body = ownAllocation(v.body)): StoredVariant {
    const p = v.policy;
    const freshMs = Math.floor((p.lifetime - p.initialAge) * 1000);
    const selectedBy = Object.keys(v.selectedBy).length === 0 ? NO_SELECTION : v.selectedBy;
    // map() makes a list of exactly its length: push leaves spare capacity that would stay allocated as long as the entry.
    const list = toHeaderList(v.headers, SET_BY_CACHE).map((field) => sharedHeaderString(field));
    const { flags, staleWhileRevalidate, staleIfError } = p;
    const rules = flags === 0 && staleWhileRevalidate === 0 && staleIfError === 0 ? NO_REUSE_RULES : { flags, staleWhileRevalidate, staleIfError };
    return new StoredVariant(url, v.status, list, body, selectedBy, p.responseTime, p.initialAge, freshMs, rules);
  }

  /** The stored headers as a map (revalidation, hand-offs, forwarding). */
  get headers(): Headers {
    return fromHeaderList(this.headerList);
  }

  /** The policy, rebuilt from the stored numbers: for revalidation, requests with their own directives, and hand-offs. */
  get policy(): CachePolicy {
    const { flags, staleWhileRevalidate, staleIfError } = this.rules;
    return new CachePolicy(this.responseTime, this.initialAge, this.initialAge + this.freshMs / 1000, flags, staleWhileRevalidate, staleIfError);
  }

  /** Whether a request with these headers selects this variant (its Vary fields match, as vary.ts compares them). */
  selects(requestHeaders: Headers): boolean {
    for (const name in this.selectedBy) if (varyValue(name, requestHeaders[name]) !== this.selectedBy[name]) return false;
    return true;
  }

  /** Same Vary selection: the two replace each other. */
  sameSelection(other: StoredVariant): boolean {
    const names = Object.keys(this.selectedBy);
    return names.length === Object.keys(other.selectedBy).length && names.every((n) => other.selectedBy[n] === this.selectedBy[n]);
  }

  /** Reusable without revalidation at `now` for a request that asks nothing special. */
  freshAt(now: number): boolean {
    return now < this.responseTime + this.freshMs && (this.rules.flags & NO_CACHE) === 0;
  }

  /** Milliseconds of freshness left at `now` (0 once stale, and always for no-cache). */
  freshForMs(now: number): number {
    return (this.rules.flags & NO_CACHE) === 0 ? Math.max(0, this.responseTime + this.freshMs - now) : 0;
  }

  /** The Age field's value at `now`, in whole seconds. */
  ageAt(now: number): number {
    return Math.floor(this.initialAge + (now - this.responseTime) / 1000);
  }
}

/**
 * The body in an allocation of its own. A small Buffer is often a slice of a shared slab (Node's
 * 8 KiB pool, a concatenated or decoded message): kept for hours, it would pin the whole slab.
 */
export function ownAllocation(body: Buffer): Buffer {
  if (body.byteOffset === 0 && body.buffer.byteLength === body.length) return body;
  const own = Buffer.allocUnsafeSlow(body.length);
  body.copy(own);
  return own;
}
