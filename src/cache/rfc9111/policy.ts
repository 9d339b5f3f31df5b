import { DhtError } from '../../errors.js';
import { deltaSeconds, fieldText, firstValue, parseDirectives, splitList, type Directives, type FieldValue } from './directives.js';
import { parseHttpDate } from './http-date.js';
import { targetedDirectives } from './targeted.js';

/** Header fields by lower-case name, as Node gives them. */
export type Fields = Readonly<Record<string, FieldValue>>;

/** RFC 9110 §15.1: statuses that are cacheable by default, so heuristic freshness may apply. */
const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/**
 * The statuses whose caching requirements this cache implements, for must-understand (RFC 9111
 * §5.2.2.3): the final statuses RFC 9110 defines, but for 206 (partial content is not
 * stored) and 304 (it updates a stored response, it is not one).
 */
const UNDERSTOOD: ReadonlySet<number> = new Set([
  200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
  416, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505,
]);

/** A stale response is never served without revalidation: must-revalidate, proxy-revalidate, s-maxage (§5.2.2.2, .8, .10). */
export const MUST_REVALIDATE = 1;
/** No use at all without revalidation: no-cache (§5.2.2.4). */
export const NO_CACHE = 2;

/** 2^31 seconds: what RFC 9111 §1.2.2 says to use for a larger delta-seconds. */
const MAX_SECONDS = 2 ** 31;

export interface CacheOptions {
  /**
   * RFC 9213 targeted fields this cache obeys, lower case, in order of preference: the first
   * present and valid one replaces Cache-Control and Expires.
   */
  readonly targets: readonly string[];
  /** Freshness for a response that says nothing about it (CACHE_DEFAULT_TTL; 0: none). */
  readonly defaultTtlSeconds: number;
}

export interface ResponseFacts {
  readonly status: number;
  readonly headers: Fields;
  /** The request carried Authorization (RFC 9111 §3.5). */
  readonly authorised: boolean;
  /** When the request was sent and its response arrived, ms (§4.2.3); both default to now. */
  readonly requestTime?: number;
  readonly responseTime?: number;
}

/** What RFC 9111 says of one response for a shared cache. */
export interface Evaluation {
  readonly policy: CachePolicy;
  /** §3: a shared cache may store it (before this cache's own rules: Set-Cookie, size). */
  readonly storable: boolean;
  /** It carries an ETag or a Last-Modified, so a stale copy can be revalidated (§4.3.1). */
  readonly hasValidator: boolean;
  /** It states its freshness itself (s-maxage, max-age, Expires): what a POST's response needs to be reused (RFC 9110 §9.3.3). */
  readonly explicit: boolean;
}

/** What a request asks of the cache (§5.2.1), Pragma: no-cache counting when it has no Cache-Control (§5.4). */
export interface RequestRules {
  readonly noCache: boolean;
  readonly noStore: boolean;
  readonly onlyIfCached: boolean;
  readonly maxAge?: number;
  /** Infinity for max-stale without a value: any staleness. */
  readonly maxStale?: number;
  readonly minFresh?: number;
}

/** Fresh: serve it. Stale: serve it, the request accepts that. Revalidate: ask the origin first. */
type Reuse = 'fresh' | 'stale' | 'revalidate';

export const NO_RULES: RequestRules = { noCache: false, noStore: false, onlyIfCached: false };

/**
 * The freshness of one stored response as numbers: what every later decision needs, so that
 * nothing is parsed again per request, and small enough to travel in hand-offs.
 */
export class CachePolicy {
  constructor(
    /** When the response arrived, ms since the epoch. */
    readonly responseTime: number,
    /** Its age then, seconds: §4.2.3 corrected_initial_age. */
    readonly initialAge: number,
    /** §4.2.1 freshness lifetime, seconds. */
    readonly lifetime: number,
    /** MUST_REVALIDATE | NO_CACHE. */
    readonly flags: number,
    /** RFC 5861 windows after the lifetime, seconds (0: none). */
    readonly staleWhileRevalidate: number,
    readonly staleIfError: number,
  ) {}

  /** §4.2.3 current_age in seconds: the age it arrived with plus the time it has been here. */
  ageAt(now: number): number {
    return this.initialAge + Math.max(0, now - this.responseTime) / 1000;
  }

  /** How long it may still be served without revalidation; 0 for a no-cache response. */
  freshForMs(now: number): number {
    if (this.flags & NO_CACHE) return 0;
    return Math.max(0, (this.lifetime - this.ageAt(now)) * 1000);
  }

  /** §4.2.4, §5.2.1: whether a request with these directives may have it as it is. */
  reuse(rules: RequestRules, now: number): Reuse {
    if (rules.noCache || this.flags & NO_CACHE) return 'revalidate';
    const age = this.ageAt(now);
    if (rules.maxAge !== undefined && age > rules.maxAge) return 'revalidate';
    const left = this.lifetime - age;
    if (left > 0) return rules.minFresh !== undefined && left < rules.minFresh ? 'revalidate' : 'fresh';
    if (this.flags & MUST_REVALIDATE) return 'revalidate';
    return rules.maxStale !== undefined && -left <= rules.maxStale ? 'stale' : 'revalidate';
  }

  /** RFC 5861 §3: stale, but within stale-while-revalidate, and nothing forbids serving it stale (§4.2.4). */
  staleWhileRevalidateAllows(now: number): boolean {
    return this.staleWhileRevalidate > 0 && !(this.flags & (NO_CACHE | MUST_REVALIDATE)) && this.ageAt(now) < this.lifetime + this.staleWhileRevalidate;
  }

  /** RFC 5861 §4: the origin failed, and the response is within stale-if-error of its lifetime. */
  staleIfErrorAllows(now: number): boolean {
    return this.staleIfError > 0 && !(this.flags & (NO_CACHE | MUST_REVALIDATE)) && this.ageAt(now) < this.lifetime + this.staleIfError;
  }

  /** The hand-off form. */
  toWire(): string {
    return JSON.stringify([this.responseTime, this.initialAge, this.lifetime, this.flags, this.staleWhileRevalidate, this.staleIfError]);
  }

  /** A peer's hand-off form, checked: every byte from the network is hostile. */
  static fromWire(text: string): CachePolicy {
    let fields: unknown;
    try {
      fields = JSON.parse(text);
    } catch {
      throw new DhtError('ERR_INVALID_ARGUMENT', 'policy: not JSON');
    }
    const ok = Array.isArray(fields) && fields.length === 6 && fields.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0) && (fields[3] as number) <= 3;
    if (!ok) throw new DhtError('ERR_INVALID_ARGUMENT', 'policy: expected [responseTime, initialAge, lifetime, flags, staleWhileRevalidate, staleIfError]');
    const [t, age, lifetime, flags, swr, sie] = fields as number[];
    return new CachePolicy(t!, age!, lifetime!, flags!, swr!, sie!);
  }
}

/**
 * RFC 9111 for a shared cache, applied to one response: storable (§3), freshness lifetime
 * (§4.2.1, heuristics only where §4.2.2 allows them), age (§4.2.3, §5.1), the directives that
 * bind later reuse. One addition, like nginx's `proxy_cache_valid`: a response that says
 * nothing about freshness (no max-age, s-maxage, Expires or Last-Modified) of a heuristically
 * cacheable status is fresh for the default TTL, unless the request carried Authorization.
 */
export function evaluateResponse(facts: ResponseFacts, options: CacheOptions): Evaluation {
  const { status, headers, authorised } = facts;
  const responseTime = facts.responseTime ?? Date.now();
  const requestTime = facts.requestTime ?? responseTime;
  const targeted = targetedDirectives(headers, options.targets);
  const cc = targeted ?? parseDirectives(headers['cache-control']);
  const date = parseHttpDate(firstValue(headers.date));
  const dateValue = date ?? responseTime;

  let lifetime: number | undefined = explicitLifetime(cc, targeted === undefined ? headers.expires : undefined, dateValue);
  const explicit = lifetime !== undefined;
  const heuristicAllowed = HEURISTICALLY_CACHEABLE.has(status) || cc.has('public');
  if (lifetime === undefined && !cc.has('no-cache')) {
    const lastModified = headers['last-modified'];
    if (lastModified !== undefined && heuristicAllowed) {
      // §4.2.2: a fraction of the time since the last change; 10 % is the usual one.
      const modified = parseHttpDate(firstValue(lastModified));
      lifetime = modified === undefined ? 0 : Math.max(0, (dateValue - modified) / 10_000);
    } else if (HEURISTICALLY_CACHEABLE.has(status) && !authorised) {
      lifetime = options.defaultTtlSeconds;
    }
  }

  // §4.2.3: the Date field's resolution is a second, so it is compared at that resolution. The
  // round trip corrects an Age an upstream cache gave; without one the origin made the response
  // for this request, and a slow origin does not make it older than its Date says.
  const apparentAge = date === undefined ? 0 : Math.max(0, Math.floor(responseTime / 1000) - date / 1000);
  const age = ageValue(headers.age);
  const correctedAgeValue = age === 0 ? 0 : age + Math.floor(Math.max(0, responseTime - requestTime) / 1000);
  const flags = (cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('s-maxage') ? MUST_REVALIDATE : 0) | (cc.has('no-cache') ? NO_CACHE : 0);
  const policy = new CachePolicy(
    responseTime,
    Math.max(apparentAge, correctedAgeValue),
    lifetime ?? 0,
    flags,
    deltaSeconds(cc.get('stale-while-revalidate')) ?? 0,
    deltaSeconds(cc.get('stale-if-error')) ?? 0,
  );
  const hasValidator = headers.etag !== undefined || headers['last-modified'] !== undefined;
  return { policy, storable: storable(status, cc, targeted === undefined && headers.expires !== undefined, authorised), hasValidator, explicit };
}

/** Worth a place in the store: fresh now, or stale but revalidatable (max-age=0 or no-cache with a validator). */
export function worthStoring(e: Evaluation, now: number): boolean {
  return e.storable && (e.hasValidator || e.policy.freshForMs(now) > 0);
}

/** The directives of a request (§5.2.1); NO_RULES for one with none. */
export function requestRules(headers: Fields): RequestRules {
  const cc = parseDirectives(headers['cache-control']);
  if (cc.size === 0) return /(^|,)\s*no-cache\s*($|,)/i.test(fieldText(headers.pragma)) ? { ...NO_RULES, noCache: true } : NO_RULES;
  const maxStale = cc.get('max-stale');
  return {
    noCache: cc.has('no-cache'),
    noStore: cc.has('no-store'),
    onlyIfCached: cc.has('only-if-cached'),
    maxAge: deltaSeconds(cc.get('max-age')),
    maxStale: maxStale === true ? Infinity : deltaSeconds(maxStale),
    minFresh: deltaSeconds(cc.get('min-fresh')),
  };
}

/**
 * §4.2.1: s-maxage, else max-age, else Expires minus Date; undefined when none is given. An
 * invalid value of any of them means already stale (§5.3: an invalid Expires is in the past).
 */
function explicitLifetime(cc: Directives, expires: FieldValue, date: number): number | undefined {
  if (cc.has('s-maxage')) return deltaSeconds(cc.get('s-maxage')) ?? 0;
  if (cc.has('max-age')) return deltaSeconds(cc.get('max-age')) ?? 0;
  if (expires === undefined) return undefined;
  const at = parseHttpDate(firstValue(expires));
  return at === undefined ? 0 : Math.min(MAX_SECONDS, Math.max(0, (at - date) / 1000));
}

/** §3, for a shared cache. */
function storable(status: number, cc: Directives, hasExpires: boolean, authorised: boolean): boolean {
  // 206 (ranges are not stored yet) and 304 (an update, not a response) aside, any final status.
  if (status < 200 || status === 206 || status === 304) return false;
  if (cc.has('must-understand')) {
    // §5.2.2.3: stored only if this cache implements its status; then no-store does not apply.
    if (!UNDERSTOOD.has(status)) return false;
  } else if (cc.has('no-store')) return false;
  if (cc.has('private')) return false;
  // §3.5: a response to an authorised request only when it says a shared cache may keep it.
  if (authorised && !cc.has('public') && !cc.has('s-maxage') && !cc.has('must-revalidate')) return false;
  return cc.has('public') || cc.has('max-age') || cc.has('s-maxage') || hasExpires || HEURISTICALLY_CACHEABLE.has(status);
}

/**
 * §5.1 Age: the first member of a list, ignored (0) unless it is a non-negative integer; 1.5
 * or 10s is not an age.
 */
function ageValue(value: FieldValue): number {
  return deltaSeconds(splitList(fieldText(value))[0]) ?? 0;
}

