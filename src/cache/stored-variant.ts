import CachePolicy from 'http-cache-semantics';
import { headerText, type Headers } from './freshness.js';
import { fromHeaderList, toHeaderList, type HeaderList } from './header-list.js';

/** Fields this cache sets on every answer (Age, the entry node's): an origin's own would only be replaced. */
const SET_BY_CACHE: ReadonlySet<string> = new Set(['age', 'x-cache', 'cache-status', 'x-node-id', 'x-responsible-node', 'x-entry-node', 'x-hops', 'x-latency-ms', 'x-cache-origin']);

/** Response fields http-cache-semantics reads to decide freshness, Vary and validators. */
const POLICY_FIELDS = ['cache-control', 'pragma', 'expires', 'last-modified', 'date', 'age', 'vary', 'set-cookie', 'etag'];

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
  /** The request's values of the headers named in Vary, which select this variant. */
  readonly selectedBy: Readonly<Record<string, string>>;
}

/**
 * What the store keeps of a response: what a hit needs, precomputed once (the forwardable
 * headers as a list ready for `res.writeHead`, the freshness deadline, the Vary selection, the
 * body in its own allocation), and no http-cache-semantics policy. The policy is rebuilt from
 * these fields only when revalidation or a request with its own directives needs it.
 */
export class StoredVariant {
  #body: Buffer;

  private constructor(
    readonly url: string,
    readonly status: number,
    readonly headerList: HeaderList,
    body: Buffer,
    readonly selectedBy: Readonly<Record<string, string>>,
    /** When the response arrived: ms on http-cache-semantics' clock (Date.now()). */
    private readonly responseTime: number,
    /** The Age the response arrived with, in seconds. */
    private readonly initialAge: number,
    /**
     * How long after `responseTime` it stays fresh, in whole ms: a small integer, which V8 keeps
     * in the object, where a second timestamp would take a heap number of its own.
     */
    private readonly freshMs: number,
    /** must-revalidate: http-cache-semantics revalidates such a response on every use. */
    private readonly alwaysRevalidate: boolean,
    /**
     * The policy's own view of the fields it reads, where it differs from the stored headers
     * (an s-maxage the default TTL added, an Age, a Set-Cookie it must not see; null: absent).
     * Undefined for most responses.
     */
    readonly policyFields: Readonly<Record<string, string | string[] | null>> | undefined,
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
    const { policy } = v;
    const state = policy.toObject();
    // Age as http-cache-semantics counts it (the Age field's integer plus the time since the response arrived).
    const initialAge = Math.round(policy.age() - (Date.now() - state.t) / 1000);
    const freshMs = Math.floor((policy.maxAge() - initialAge) * 1000);
    let policyFields: Record<string, string | string[] | null> | undefined;
    for (const name of POLICY_FIELDS) {
      const seen = state.resh[name];
      if (headerText(seen) === headerText(v.headers[name]) && (seen === undefined) === (v.headers[name] === undefined)) continue;
      (policyFields ??= {})[name] = seen ?? null;
    }
    const selectedBy = Object.keys(v.selectedBy).length === 0 ? NO_SELECTION : v.selectedBy;
    // slice(): push leaves spare capacity that would stay allocated as long as the entry.
    const list = toHeaderList(v.headers, SET_BY_CACHE).slice();
    return new StoredVariant(url, v.status, list, body, selectedBy, state.t, initialAge, freshMs, state.rescc['must-revalidate'] !== undefined, policyFields);
  }

  /** The stored headers as a map (revalidation, hand-offs, forwarding). */
  get headers(): Headers {
    return fromHeaderList(this.headerList);
  }

  /**
   * The full http-cache-semantics policy, rebuilt: for revalidation, requests with their own
   * directives, and hand-offs. Each read builds it anew.
   */
  get policy(): CachePolicy {
    const seen: Headers = this.headers;
    for (const name in this.policyFields) {
      const value = this.policyFields[name];
      if (value === null || value === undefined) delete seen[name];
      else seen[name] = value;
    }
    const request = { url: this.url, method: 'GET', headers: this.selectedBy as Headers };
    const state = new CachePolicy(request, { status: this.status, headers: seen }, { shared: true }).toObject();
    return CachePolicy.fromObject({ ...state, t: this.responseTime });
  }

  /** Whether a request with these headers selects this variant (its Vary fields match). */
  selects(requestHeaders: Headers): boolean {
    for (const name in this.selectedBy) if (headerText(requestHeaders[name]).trim() !== this.selectedBy[name]) return false;
    return true;
  }

  /** Same Vary selection: the two replace each other. */
  sameSelection(other: StoredVariant): boolean {
    const names = Object.keys(this.selectedBy);
    return names.length === Object.keys(other.selectedBy).length && names.every((n) => other.selectedBy[n] === this.selectedBy[n]);
  }

  /** Reusable without revalidation at `now` for a request that asks nothing special. */
  freshAt(now: number): boolean {
    return now < this.responseTime + this.freshMs && !this.alwaysRevalidate;
  }

  /** Milliseconds of freshness left at `now` (0 once stale). */
  freshForMs(now: number): number {
    return Math.max(0, this.responseTime + this.freshMs - now);
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
