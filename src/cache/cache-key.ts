import { DhtError } from '../errors.js';

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
