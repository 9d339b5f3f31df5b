import type { Headers } from './freshness.js';
import { fromHeaderList, type HeaderList } from './header-list.js';
import { isHopByHop, SAFE_FIELD_VALUE, TOKEN } from './origin/headers.js';
import { CachePolicy, NO_CACHE } from './rfc9111/policy.js';
import { varyValue } from './rfc9111/vary.js';

/**
 * Fields this cache sets on every answer (Age, the entry node's) or writes from the stored body
 * (Content-Length): an origin's own would only be replaced.
 */
const SET_BY_CACHE: ReadonlySet<string> = new Set(['age', 'content-length', 'x-cache', 'cache-status', 'x-node-id', 'x-responsible-node', 'x-entry-node', 'x-hops', 'x-latency-ms', 'x-cache-origin']);

/**
 * The status, and what few responses have: a large body kept apart from the fields, a Vary
 * selection, the policy's rules besides its lifetime (must-revalidate and no-cache flags, RFC
 * 5861 windows in seconds).
 */
interface Particulars {
  readonly status: number;
  readonly apart: Buffer | undefined;
  readonly selectedBy: Readonly<Record<string, string>>;
  readonly flags: number;
  readonly staleWhileRevalidate: number;
  readonly staleIfError: number;
}

const NO_SELECTION: Readonly<Record<string, string>> = Object.freeze({});

/**
 * One Particulars per status, shared by every variant of that status with nothing else
 * particular: most of them, so they cost no object each. Statuses are three digits: at most 900.
 */
const ordinary = new Map<number, Particulars>();

function particularsOf(status: number, apart: Buffer | undefined, selectedBy: Readonly<Record<string, string>>, p: CachePolicy): Particulars {
  const { flags, staleWhileRevalidate, staleIfError } = p;
  if (apart !== undefined || selectedBy !== NO_SELECTION || flags !== 0 || staleWhileRevalidate !== 0 || staleIfError !== 0) return { status, apart, selectedBy, flags, staleWhileRevalidate, staleIfError };
  let shared = ordinary.get(status);
  if (!shared) ordinary.set(status, (shared = Object.freeze({ status, apart, selectedBy, flags, staleWhileRevalidate, staleIfError })));
  return shared;
}

/**
 * Lifetimes are kept in whole seconds up to 2^31 − 1 (68 years; RFC 9111 §1.2.2 lets a cache cap
 * delta-seconds at the greatest integer it conveniently represents): a small integer. One
 * lifetime in ms past 2^31 (a max-age of 25 days) would make V8 keep that field of every
 * variant as a heap number of its own, 16 B more per entry.
 */
const LONGEST_LIFETIME_S = 2 ** 31 - 1;

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
 * What the store keeps of a response: what a hit needs, prepared once, and the policy's few
 * numbers, from which it is rebuilt without parsing when revalidation or a request with its own
 * directives needs it. The fields are kept as the bytes a hit writes after its status line and
 * its fields of the moment: `name: value\r\n` lines (Content-Length from the body, a Date if the
 * origin sent none) and the empty line, outside the heap, in place of a list of strings; a hit
 * writes them as they are, and only what needs the fields one by one parses them. A small body
 * follows them in the same bytes, which share a slab with other small entries (slab-arena.ts);
 * a large one keeps the allocation it arrived in, which copying would double while the origin's
 * copy awaits the collector.
 */
export class StoredVariant {
  /**
   * Where the bytes are: a slab's memory (or their own) and the offset in it. A Buffer view is
   * made when they are read, once per hit: kept, a view would cost each entry ~107 B of heap, as
   * much as the rest of the variant.
   */
  #memory: ArrayBuffer;
  #at: number;
  /** How many bytes there are. */
  private readonly length: number;

  private constructor(
    readonly url: string,
    bytes: Buffer,
    /** Where the body starts in the bytes: their length when it is kept apart. */
    private readonly bodyAt: number,
    /**
     * When it would have arrived had it come with age 0, whole seconds since the epoch, and ms
     * past that second: its arrival less the age it came with (RFC 9111 §4.2.3), the one moment
     * that its age and its freshness both follow from. Two small integers, which V8 keeps in the
     * object, where one ms timestamp would take a heap number of its own (until 2038, when the
     * seconds outgrow a small integer).
     */
    private readonly bornS: number,
    private readonly bornMs: number,
    /** Its freshness lifetime, whole seconds (§4.2.1), at most LONGEST_LIFETIME_S. */
    private readonly lifetime: number,
    private readonly particulars: Particulars,
  ) {
    this.#memory = bytes.buffer as ArrayBuffer;
    this.#at = bytes.byteOffset;
    this.length = bytes.length;
  }

  get status(): number {
    return this.particulars.status;
  }

  /** The slab (or allocation of their own) the bytes are in: what the store's arena counts by. */
  get memory(): ArrayBuffer {
    return this.#memory;
  }

  /** The field lines and the empty line, followed by the body unless it is kept apart. */
  get bytes(): Buffer {
    return Buffer.from(this.#memory, this.#at, this.length);
  }

  /** The same bytes elsewhere: the store compacting the slabs small entries share (slab-arena.ts). */
  moveBytes(to: Buffer): void {
    this.#memory = to.buffer as ArrayBuffer;
    this.#at = to.byteOffset;
  }

  get body(): Buffer {
    return this.particulars.apart ?? Buffer.from(this.#memory, this.#at + this.bodyAt, this.length - this.bodyAt);
  }

  /** The body when it is kept apart from the bytes (a large one): what a hit writes after `tail`. */
  bodyAfterTail(headOnly: boolean): Buffer | undefined {
    return headOnly ? undefined : this.particulars.apart;
  }

  /** What a hit writes after its own fields: the stored ones and the empty line, and a small body unless `headOnly`. */
  tail(headOnly: boolean): Buffer {
    return Buffer.from(this.#memory, this.#at, headOnly ? this.bodyAt : this.length);
  }

  /**
   * The compact form of `v`, its URL given as `url` (the store's key, so that the string is kept
   * once). `pack` gives the bytes of fields and body a place in a shared slab if they are small
   * enough, or nothing: then the fields get an allocation of their own and the body keeps its
   * (copied only if it is a slice of a shared pool, which an entry kept for hours would pin
   * whole). A field no response may carry as it is (a name that is no token, a value with
   * control characters or past U+00FF, a hop-by-hop field) is dropped: the bytes are written to
   * clients unchecked.
   */
  static of(v: Variant, url = v.url, pack: (length: number) => Buffer | undefined = () => undefined): StoredVariant {
    const p = v.policy;
    const fields = fieldLines(v.headers, v.status, v.body.length, p.responseTime) + '\r\n';
    const bodyAt = Buffer.byteLength(fields, 'latin1');
    const packed = pack(bodyAt + v.body.length);
    const bytes = packed ?? Buffer.allocUnsafeSlow(bodyAt);
    bytes.write(fields, 'latin1');
    if (packed) v.body.copy(packed, bodyAt);
    const apart = packed ? undefined : ownAllocation(v.body);
    const selectedBy = Object.keys(v.selectedBy).length === 0 ? NO_SELECTION : v.selectedBy;
    const bornAt = Math.floor(p.responseTime - p.initialAge * 1000);
    const bornS = Math.floor(bornAt / 1000);
    const lifetime = Math.min(Math.floor(p.lifetime), LONGEST_LIFETIME_S);
    return new StoredVariant(url, bytes, bodyAt, bornS, bornAt - bornS * 1000, lifetime, particularsOf(v.status, apart, selectedBy, p));
  }

  /** The stored fields as a list `[name, value, …]` (forwarding, a writer that takes lists). */
  get headerList(): HeaderList {
    const list: string[] = [];
    const text = Buffer.from(this.#memory, this.#at, this.bodyAt - 2).toString('latin1');
    for (let at = 0; at < text.length; ) {
      const colon = text.indexOf(': ', at);
      const end = text.indexOf('\r\n', colon);
      list.push(text.slice(at, colon), text.slice(colon + 2, end));
      at = end + 2;
    }
    return list;
  }

  /** The stored headers as a map (revalidation, hand-offs). */
  get headers(): Headers {
    return fromHeaderList(this.headerList);
  }

  /**
   * The policy, rebuilt from the stored numbers: for revalidation, requests with their own
   * directives, and hand-offs. It arrives at `bornAt` with age 0: the same age at every moment
   * since it really arrived.
   */
  get policy(): CachePolicy {
    const { flags, staleWhileRevalidate, staleIfError } = this.particulars;
    return new CachePolicy(this.bornAt, 0, this.lifetime, flags, staleWhileRevalidate, staleIfError);
  }

  /** `bornS` and `bornMs` as one ms timestamp. */
  private get bornAt(): number {
    return this.bornS * 1000 + this.bornMs;
  }

  /** The request header values of its Vary fields that select it (vary.ts's form). */
  get selectedBy(): Readonly<Record<string, string>> {
    return this.particulars.selectedBy;
  }

  /** Whether a request with these headers selects this variant (its Vary fields match, as vary.ts compares them). */
  selects(requestHeaders: Headers): boolean {
    const selectedBy = this.particulars.selectedBy;
    for (const name in selectedBy) if (varyValue(name, requestHeaders[name]) !== selectedBy[name]) return false;
    return true;
  }

  /** Same Vary selection: the two replace each other. */
  sameSelection(other: StoredVariant): boolean {
    const names = Object.keys(this.selectedBy);
    return names.length === Object.keys(other.selectedBy).length && names.every((n) => other.selectedBy[n] === this.selectedBy[n]);
  }

  /** Reusable without revalidation at `now` for a request that asks nothing special. */
  freshAt(now: number): boolean {
    return now < this.bornAt + this.lifetime * 1000 && (this.particulars.flags & NO_CACHE) === 0;
  }

  /** Milliseconds of freshness left at `now` (0 once stale, and always for no-cache). */
  freshForMs(now: number): number {
    return (this.particulars.flags & NO_CACHE) === 0 ? Math.max(0, this.bornAt + this.lifetime * 1000 - now) : 0;
  }

  /** The Age field's value at `now`, in whole seconds. */
  ageAt(now: number): number {
    return Math.floor((now - this.bornAt) / 1000);
  }
}

/** The lines a stored response's fields are written as, each checked as a client's writer would. */
function fieldLines(headers: Headers, status: number, bodyBytes: number, responseTime: number): string {
  let text = '';
  let dated = false;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || SET_BY_CACHE.has(name) || isHopByHop(name) || !TOKEN.test(name)) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      if (!SAFE_FIELD_VALUE.test(one)) continue;
      text += `${name}: ${one}\r\n`;
      if (name === 'date') dated = true;
    }
  }
  // RFC 9110 §6.6.1: a cache that receives a response without a Date records when it arrived.
  if (!dated) text += `date: ${new Date(responseTime).toUTCString()}\r\n`;
  // RFC 9110 §8.6: no Content-Length in a 204 or 304; the body's own otherwise (an origin that sent it chunked gave none).
  if (status !== 204 && status !== 304) text += `content-length: ${bodyBytes}\r\n`;
  return text;
}

const NO_BODY = Buffer.alloc(0);

/**
 * The body in an allocation of its own. A small Buffer is often a slice of a shared slab (Node's
 * 8 KiB pool, a concatenated or decoded message): kept for hours, it would pin the whole slab.
 */
function ownAllocation(body: Buffer): Buffer {
  if (body.byteOffset === 0 && body.buffer.byteLength === body.length) return body;
  const own = Buffer.allocUnsafeSlow(body.length);
  body.copy(own);
  return own;
}

/**
 * A hit on a stored variant as the lane writes it: the fields of the moment (`leading`: Age, the
 * entry's own), then the stored bytes (`tail`). A writer that takes only a list and a body reads
 * `headerList` and `body`, made when first read.
 */
export class PreparedAnswer {
  constructor(
    readonly leading: HeaderList,
    private readonly variant: StoredVariant,
    private readonly headOnly: boolean,
  ) {}

  /** The stored field lines, the empty line, and a small body unless this answers a HEAD. */
  get tail(): Buffer {
    return this.variant.tail(this.headOnly);
  }

  /** A large body, which follows `tail`, unless this answers a HEAD. */
  get bodyAfterTail(): Buffer | undefined {
    return this.variant.bodyAfterTail(this.headOnly);
  }

  /** All the fields, the leading ones first, as the lane writes them. */
  get headerList(): HeaderList {
    return [...this.leading, ...this.variant.headerList];
  }

  get body(): Buffer {
    return this.headOnly ? NO_BODY : this.variant.body;
  }

  /** The same answer led by `leading` instead. */
  ledBy(leading: HeaderList): PreparedAnswer {
    return new PreparedAnswer(leading, this.variant, this.headOnly);
  }
}
