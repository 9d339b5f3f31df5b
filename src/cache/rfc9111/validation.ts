import { fieldText, firstValue, splitList, type FieldValue } from './directives.js';
import { parseHttpDate } from './http-date.js';
import type { Fields } from './policy.js';

/** Fields a 304 does not change in the stored response: they describe the stored body (§3.2). */
const BODY_FIELDS: ReadonlySet<string> = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'content-range']);

/**
 * §4.3.1: the conditional request that revalidates a stored response: If-None-Match with its
 * ETag, If-Modified-Since with its Last-Modified (the origin weighs If-None-Match first).
 */
export function conditionalHeaders(stored: Fields): Record<string, string> {
  const out: Record<string, string> = {};
  const etag = fieldText(stored.etag);
  if (etag !== '') out['if-none-match'] = etag;
  const lastModified = firstValue(stored['last-modified']);
  if (lastModified !== '') out['if-modified-since'] = lastModified;
  return out;
}

/**
 * §4.3.4: whether a 304 is about the stored response that was revalidated: its ETag names the
 * stored one, or, without an ETag, its Last-Modified is the stored one's; a 304 without
 * validators answers the one conditional request sent, so it matches.
 */
export function notModifiedMatches(notModified: Fields, stored: Fields): boolean {
  const etag = fieldText(notModified.etag);
  if (etag !== '') return opaque(etag) === opaque(fieldText(stored.etag));
  const lastModified = firstValue(notModified['last-modified']);
  return lastModified === '' || lastModified === firstValue(stored['last-modified']);
}

/**
 * §3.2, §4.3.4: the stored fields updated with a 304's, except those that describe the body
 * the cache keeps (a 304 that says another Content-Length changes nothing of it).
 */
export function freshenedHeaders<T extends FieldValue>(stored: Readonly<Record<string, T>>, notModified: Readonly<Record<string, T>>): Record<string, T> {
  const out = { ...stored };
  for (const name in notModified) if (!BODY_FIELDS.has(name) && notModified[name] !== undefined) out[name] = notModified[name]!;
  return out;
}

/**
 * RFC 9110 §13.1.2, §13.1.3, §13.2.2: whether a client's own GET conditional is answered with
 * 304 by this response. If-None-Match (weak comparison) wins; If-Modified-Since is weighed only
 * without it, against Last-Modified alone when the response has no ETag.
 */
export function clientNotModified(request: Readonly<Record<string, string | undefined>>, response: Fields): boolean {
  const ifNoneMatch = request['if-none-match'];
  const etag = fieldText(response.etag);
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') return true; // the cache has a current representation
    return etag !== '' && splitList(ifNoneMatch).some((tag) => opaque(tag) === opaque(etag));
  }
  const since = parseHttpDate(request['if-modified-since'] ?? '');
  const modified = parseHttpDate(firstValue(response['last-modified']));
  return since !== undefined && modified !== undefined && modified <= since;
}

/** An entity tag without its weakness, for weak comparison (RFC 9110 §8.8.3.2). */
function opaque(tag: string): string {
  const t = tag.trim();
  return t.startsWith('W/') ? t.slice(2) : t;
}

