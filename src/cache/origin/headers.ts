/** Header maps as node:http and undici hand them over: names in any case, repeated headers as arrays. */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** Hop-by-hop headers (RFC 9110 §7.6.1), plus the Proxy-* family, which is for the proxy itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** A lower-case field name that is for one connection only: never passed on, never stored. */
export function isHopByHop(lower: string): boolean {
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-');
}

/** An RFC 9110 token (§5.6.2): what a method or a field name must be. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A field value of visible characters, spaces, tabs and obs-text (RFC 9110 §5.5), node:http's own
 * rule: safe to write into a response as it is. Characters past U+00FF are refused too: written as
 * latin1, as head bytes are, U+010A would become a line feed.
 */
export const SAFE_FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Credentials the open /cache?url= fetcher never passes on: the client's cookies are not the origin's business. */
const CREDENTIALS = new Set(['cookie', 'authorization', 'proxy-authorization']);

/**
 * The end-to-end headers of a message: drops the hop-by-hop headers (Connection, Keep-Alive,
 * Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade) and every header that Connection names.
 * Names come back in lower case; repeated names (in any case) are merged into an array.
 * Use it on requests going to an origin and on responses coming back from one.
 */
export function stripHopByHop(headers: HeaderMap): Record<string, string | string[]> {
  const named = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'connection' || value === undefined) continue;
    for (const token of [value].flat().join(',').split(',')) named.add(token.trim().toLowerCase());
  }
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || isHopByHop(lower) || named.has(lower)) continue;
    const previous = out[lower];
    out[lower] = previous === undefined ? value : [previous, value].flat();
  }
  return out;
}

export interface OriginHeaderOptions {
  /**
   * The origin is the operator's own (CACHE_ORIGIN in gateway mode): the client's Cookie and
   * Authorization go to it. For any other origin they are dropped.
   */
  readonly trusted: boolean;
  /** The request carries a body; without one, Content-Length and Content-Type are dropped. */
  readonly hasBody: boolean;
}

/**
 * The one rule for what a client's request headers become on the way to an origin: no
 * hop-by-hop headers, no Host (the URL names the origin), no Expect (undici does not do
 * 100-continue), no body headers without a body, and no credentials unless `trusted`.
 */
export function originRequestHeaders(headers: HeaderMap, options: OriginHeaderOptions): Record<string, string | string[]> {
  const out = stripHopByHop(headers);
  delete out['host'];
  delete out['expect'];
  if (!options.hasBody) {
    delete out['content-length'];
    delete out['content-type'];
  }
  if (!options.trusted) for (const name of CREDENTIALS) delete out[name];
  return out;
}

/** How this cache names itself in Via (RFC 9110 §7.6.3): a pseudonym, so no internal address leaks. */
export const VIA = '1.1 koorde';

/** Which forwarding fields a gateway adds to what it sends on (CACHE_VIA, CACHE_FORWARDED_HEADERS). */
export interface ProxyFieldsInit {
  readonly via: boolean;
  readonly forwardedFor: boolean;
}

/** The connection a request came in on, as X-Forwarded-For and X-Forwarded-Proto describe it. */
export interface ClientConnection {
  readonly address: string | undefined;
  readonly encrypted: boolean;
}

/**
 * A client request's end-to-end fields as a gateway passes them on (RFC 9110 §7.6.1): no
 * hop-by-hop fields, none that Connection names, no Host (the origin URL names the host),
 * repeated fields joined into one comma-separated value.
 */
export function endToEndRequestFields(headers: HeaderMap): Record<string, string> {
  const out: Record<string, string> = {};
  const fields = stripHopByHop(headers);
  for (const name in fields) if (name !== 'host') out[name] = [fields[name]!].flat().join(', ');
  return out;
}

/**
 * `fields` with this proxy's own added: Via (appended to the client's), X-Forwarded-For (this
 * client's address appended to the chain) and X-Forwarded-Proto (kept when a proxy in front
 * already set it, since only that proxy saw the client's scheme).
 */
export function withProxyFields(fields: Readonly<Record<string, string>>, client: ClientConnection, init: ProxyFieldsInit): Record<string, string> {
  const out: Record<string, string> = { ...fields };
  const append = (name: string, value: string) => (out[name] = out[name] ? `${out[name]}, ${value}` : value);
  if (init.via) append('via', VIA);
  if (init.forwardedFor) {
    if (client.address !== undefined) append('x-forwarded-for', client.address);
    out['x-forwarded-proto'] ??= client.encrypted ? 'https' : 'http';
  }
  return out;
}
