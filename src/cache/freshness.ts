import CachePolicy from 'http-cache-semantics';

export type Headers = Record<string, string | string[] | undefined>;

/** What the cache sees of a request when it decides freshness and variants. */
export interface PolicyRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
}

/** Request headers that carry a client's credentials. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** Statuses a shared cache may keep by default (RFC 9110 §15.1 "heuristically cacheable"). */
const CACHEABLE_BY_DEFAULT = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/**
 * RFC 9111 rules for a shared cache, from http-cache-semantics. One addition, like nginx's
 * `proxy_cache_valid`: a response that says nothing about freshness (no max-age, s-maxage,
 * Expires or Last-Modified) is fresh for `defaultTtlSeconds` — unless the request carried
 * Authorization, whose response a shared cache may keep only when it says public, s-maxage or
 * must-revalidate itself (RFC 9111 §3.5). The origin's own headers are kept apart for
 * forwarding; only the policy sees the added s-maxage.
 *
 * The policy keeps the request's headers (for Vary) and travels in hand-offs, so it is given
 * the credentials only as a placeholder: enough to know that there were some, nothing to leak.
 */
export function createPolicy(request: PolicyRequest, status: number, headers: Headers, defaultTtlSeconds: number): CachePolicy {
  const authorised = headerText(request.headers.authorization) !== '';
  const policyHeaders = saysNothingAboutFreshness(status, headers) && defaultTtlSeconds > 0 && !authorised
    ? { ...headers, 'cache-control': [headerText(headers['cache-control']), `s-maxage=${defaultTtlSeconds}`].filter(Boolean).join(', ') }
    : headers;
  return new CachePolicy({ ...request, headers: redactCredentials(request.headers) }, { status, headers: policyHeaders }, { shared: true });
}

/** The headers with every credential's value replaced by a placeholder. */
function redactCredentials(headers: Headers): Headers {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, CREDENTIAL_HEADERS.has(name.toLowerCase()) && value !== undefined ? 'redacted' : value]));
}

/**
 * Worth storing: storable for a shared cache, and either fresh for a while or explicitly
 * asking to be revalidated with a validator to do so (max-age=0 or no-cache, with an ETag or
 * Last-Modified).
 */
export function worthStoring(policy: CachePolicy, headers: Headers): boolean {
  if (!policy.storable()) return false;
  if (policy.timeToLive() > 0) return true;
  const hasValidator = headers.etag !== undefined || headers['last-modified'] !== undefined;
  return hasValidator && /(^|,)\s*(no-cache|max-age\s*=\s*0)\b/i.test(headerText(headers['cache-control']));
}

function saysNothingAboutFreshness(status: number, headers: Headers): boolean {
  if (!CACHEABLE_BY_DEFAULT.has(status) || headers.expires !== undefined || headers['last-modified'] !== undefined) return false;
  return !/(^|,)\s*(max-age|s-maxage|no-cache|no-store|private)\b/i.test(headerText(headers['cache-control']));
}

export function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}
