import { DhtError } from '../errors.js';
import { recentResults } from '../runtime/memo.js';

/**
 * The canonical form of a URL, so that spellings of the same resource share one cache entry and
 * one owner: lower-case scheme and host (the URL parser does that), no default port, no
 * fragment, query kept as sent (its order can matter to the origin).
 */
export function canonicalUrl(raw: string | undefined): URL {
  if (!raw) throw new DhtError('ERR_INVALID_ARGUMENT', 'missing url: use /cache?url=<absolute http(s) URL, percent-encoded>');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DhtError('ERR_INVALID_ARGUMENT', `not an absolute URL: "${raw.slice(0, 200)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DhtError('ERR_INVALID_ARGUMENT', `unsupported scheme "${url.protocol.replace(':', '')}": only http and https origins are fetched`);
  }
  if (url.username || url.password) throw new DhtError('ERR_INVALID_ARGUMENT', 'URLs with credentials are not fetched');
  url.hash = '';
  return url;
}

/** Longer than any URL browsers and CDNs pass on. */
export const MAX_PEER_URL_LENGTH = 16 * 1024;

/**
 * The scheme of the URLs peers send (empty when not a URL), remembered for the ones that
 * repeat: parsing each forwarded URL anew was a twentieth of an owner's CPU per fresh hit.
 */
const peerUrlProtocol = recentResults(4096, 2048, (raw) => (URL.canParse(raw) ? new URL(raw).protocol : ''));

/**
 * A URL a peer sent as a cache key: absolute http(s), of bounded length. `field` names it in
 * the error, so the peer learns which part of its message was refused.
 */
export function checkedPeerUrl(raw: unknown, field: string): string {
  if (typeof raw !== 'string' || raw.length > MAX_PEER_URL_LENGTH) {
    throw new DhtError('ERR_INVALID_ARGUMENT', `${field}: expected a URL of at most ${MAX_PEER_URL_LENGTH} characters`);
  }
  const protocol = peerUrlProtocol(raw);
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new DhtError('ERR_INVALID_ARGUMENT', `${field}: expected an absolute http(s) URL, got ${JSON.stringify(raw.slice(0, 64))}`);
  }
  return raw;
}
