import { checkedPeerUrl } from '../../cache/cache-key.js';
import { headFromWire, MAX_REQUEST_FIELDS, requestFromWire, type WireFetchRequest, type WireHead, type WireHeader, type ResponseHead } from '../../cache/cache-wire.js';
import type { CacheRequest } from '../../cache/owner-cache.js';
import { DhtError } from '../../errors.js';

/**
 * The peer data channel: an entry POSTs a forwarded request as JSON to FETCH_PATH; the owner
 * answers 200 with a frame (a 4-byte big-endian length, the response head as JSON, then the
 * raw body), or an error status with `{ error: <ERR_ code>, message }`. Both sides treat every
 * byte from the other as hostile: the checks below bound and type each field.
 */
export const FETCH_PATH = '/v1/fetch';
export const FRAME_CONTENT_TYPE = 'application/x-koorde-peer-frame';

/** A request carries a URL (≤ 16 KiB) and a client's header fields (≤ 16 KiB in node:http's parser). */
export const MAX_REQUEST_BYTES = 128 * 1024;
/** Request header lines the HTTP parser accepts: well above what an entry sends. */
export const MAX_HTTP_HEADER_BYTES = 16 * 1024;
/** The JSON head of an answer: the origin's headers, bounded like an HTTP header block. */
export const MAX_HEAD_BYTES = 256 * 1024;
/** An error answer is a short JSON object. */
export const MAX_ERROR_BYTES = 16 * 1024;

const MAX_RESPONSE_HEADERS = 256;
const MAX_HEADER_VALUE = 16 * 1024;
/** RFC 9110 token, lower case as both sides send names. */
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,256}$/;
/** No control characters but tab: a value is written into the client's response as is. */
const HEADER_VALUE = /^[^\0-\x08\x0a-\x1f\x7f]*$/;
const OUTCOMES = new Set(['HIT', 'MISS', 'REVALIDATED', 'STALE', 'UPDATING']);

function invalid(message: string): never {
  throw new DhtError('ERR_INVALID_ARGUMENT', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `text` as a JSON object, or ERR_INVALID_ARGUMENT saying what `what` should have been. */
function jsonObject(text: string, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    invalid(`${what} is not JSON`);
  }
  if (!isObject(raw)) invalid(`${what} must be a JSON object`);
  return raw;
}

function checkedHeaders(raw: unknown, field: string, max: number): WireHeader[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length > max) invalid(`${field}: expected a list of at most ${max} headers`);
  return raw.map((h: unknown, at) => {
    if (!isObject(h) || typeof h.name !== 'string' || !HEADER_NAME.test(h.name)) invalid(`${field}[${at}].name: expected a lower-case header name`);
    if (typeof h.value !== 'string' || h.value.length > MAX_HEADER_VALUE || !HEADER_VALUE.test(h.value)) {
      invalid(`${field}[${at}].value: expected a header value of at most ${MAX_HEADER_VALUE} characters without control characters`);
    }
    return { name: h.name, value: h.value };
  });
}

/** The owner's side: a forwarded request from its JSON, or ERR_INVALID_ARGUMENT naming the field. */
export function parseFetchRequest(text: string): { req: CacheRequest; fromRouteCache: boolean; interim: boolean } {
  const raw = jsonObject(text, 'the request body');
  if (raw.method !== 'GET' && raw.method !== 'HEAD') invalid('method: expected GET or HEAD');
  if (raw.from_route_cache !== undefined && typeof raw.from_route_cache !== 'boolean') invalid('from_route_cache: expected true or false');
  if (raw.interim !== undefined && typeof raw.interim !== 'boolean') invalid('interim: expected true or false');
  const wire: WireFetchRequest = {
    url: checkedPeerUrl(raw.url, 'url'),
    method: raw.method,
    headers: checkedHeaders(raw.headers, 'headers', MAX_REQUEST_FIELDS),
    from_route_cache: raw.from_route_cache === true,
    interim: raw.interim === true,
  };
  return { req: requestFromWire(wire), fromRouteCache: wire.from_route_cache, interim: wire.interim };
}

/** The entry's side: the owner's response head, every field checked before it reaches a client. */
export function parseHead(text: string): ResponseHead {
  const raw = jsonObject(text, 'the response head');
  const { status, outcome, stored, origin_status: originStatus, hot, fresh_for_ms: freshForMs } = raw;
  if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) invalid('head.status: expected an HTTP status');
  if (typeof outcome !== 'string' || !OUTCOMES.has(outcome)) invalid('head.outcome: expected HIT, MISS, REVALIDATED, STALE or UPDATING');
  if (typeof stored !== 'boolean' || typeof hot !== 'boolean') invalid('head.stored, head.hot: expected true or false');
  if (!Number.isInteger(originStatus) || (originStatus as number) < 0 || (originStatus as number) > 599) invalid('head.origin_status: expected 0 or an HTTP status');
  if (typeof freshForMs !== 'number' || !Number.isFinite(freshForMs) || freshForMs < 0) invalid('head.fresh_for_ms: expected a duration');
  const wire: WireHead = {
    status: status as number,
    headers: checkedHeaders(raw.headers, 'head.headers', MAX_RESPONSE_HEADERS),
    outcome,
    stored,
    origin_status: originStatus as number,
    hot,
    fresh_for_ms: freshForMs,
  };
  return headFromWire(wire);
}

/** The first bytes of a 200 answer: length prefix and head. */
export function framePrefix(head: WireHead): Buffer {
  const json = Buffer.from(JSON.stringify(head));
  const prefix = Buffer.allocUnsafe(4 + json.length);
  prefix.writeUInt32BE(json.length, 0);
  json.copy(prefix, 4);
  return prefix;
}
