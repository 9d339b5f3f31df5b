import { evaluateResponse, type CacheOptions, type Evaluation } from './rfc9111/policy.js';
import { fieldText } from './rfc9111/directives.js';

export type Headers = Record<string, string | string[] | undefined>;

/** Request headers that carry a client's credentials. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);

/**
 * RFC 9111 for this shared cache (rfc9111/policy.ts) applied to a response to a request with
 * `requestHeaders`, sent at `requestTime`: only whether they carried credentials counts, so no
 * credential reaches the policy that is stored and handed off. A Cookie counts like
 * Authorization (§3.5 names only the latter): in gateway mode the operator's origin sees the
 * client's cookies, and an answer made for one user is shared only when it says so itself
 * (public, s-maxage, must-revalidate), as Varnish refuses to cache such requests at all.
 */
export function evaluate(requestHeaders: Headers, status: number, headers: Headers, options: CacheOptions, requestTime?: number): Evaluation {
  const authorised = fieldText(requestHeaders.authorization) !== '' || fieldText(requestHeaders.cookie) !== '';
  return evaluateResponse({ status, headers, authorised, requestTime }, options);
}

