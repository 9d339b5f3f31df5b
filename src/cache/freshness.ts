import { evaluateResponse, type CacheOptions, type Evaluation } from './rfc9111/policy.js';

export type Headers = Record<string, string | string[] | undefined>;

/** Request headers that carry a client's credentials. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);

/**
 * RFC 9111 for this shared cache (rfc9111/policy.ts) applied to a response to a request with
 * `requestHeaders`, sent at `requestTime`: only whether they carried Authorization counts
 * (§3.5), so no credential reaches the policy that is stored and handed off.
 */
export function evaluate(requestHeaders: Headers, status: number, headers: Headers, options: CacheOptions, requestTime?: number): Evaluation {
  return evaluateResponse({ status, headers, authorised: headerText(requestHeaders.authorization) !== '', requestTime }, options);
}

export function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}
