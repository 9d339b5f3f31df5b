import { DhtError } from '../errors.js';

/** Any fixed origin: only the path and query of a request target are read. */
const LOCAL = 'http://node';

/**
 * A request target (`/path?query`, as the client sent it) as a URL whose pathname keeps every
 * slash: `//host/x` stays the path `//host/x` instead of becoming a host, which is what
 * resolving it as a relative reference would do. A target that is not a path, or that is not
 * even a valid relative reference (`//[`), is an ERR_INVALID_ARGUMENT (400).
 */
export function parseRequestTarget(raw: string | undefined): URL {
  const target = raw ?? '/';
  const invalid = (cause?: unknown) => new DhtError('ERR_INVALID_ARGUMENT', `invalid request target "${target.slice(0, 200)}": expected /path?query`, { cause });
  if (!target.startsWith('/')) throw invalid();
  try {
    new URL(target, LOCAL);
    return new URL(LOCAL + target);
  } catch (err) {
    throw invalid(err);
  }
}

/**
 * The origin URL a gateway request maps to: a copy of the gateway origin with only its path and
 * query replaced, so no path can name another host. The result's origin is checked all the
 * same, because this is the one place a client's bytes turn into an upstream address.
 */
export function gatewayTarget(gatewayOrigin: URL, request: URL): URL {
  const target = new URL(gatewayOrigin.href);
  target.pathname = request.pathname;
  target.search = request.search;
  target.hash = '';
  if (target.origin !== gatewayOrigin.origin) {
    throw new DhtError('ERR_INVALID_ARGUMENT', `request path ${request.pathname.slice(0, 200)} does not stay on the gateway origin`);
  }
  return target;
}
