import { checkedPeerUrl } from '../../cache/cache-key.js';
import { headersFromWire, headersToWire, headFromWire, MAX_REQUEST_FIELDS, requestFromWire, type WireFetchRequest, type WireHead, type WireHeader, type ResponseHead } from '../../cache/cache-wire.js';
import type { CacheRequest } from '../../cache/owner-cache.js';
import { DhtError, ERROR_CODES, type ErrorCode } from '../../errors.js';

/**
 * What the peer data channel's frames (frames.ts) carry: a forwarded request and a response
 * head, both as JSON. Both sides treat every byte from the other as hostile: the checks below
 * bound and type each field.
 */

/** A request carries a URL (≤ 16 KiB) and a client's header fields (≤ 16 KiB in node:http's parser). */
export const MAX_REQUEST_BYTES = 128 * 1024;
/** The JSON head of an answer: the origin's headers, bounded like an HTTP header block. */
export const MAX_HEAD_BYTES = 256 * 1024;
/** An error answer is a short JSON object. */
export const MAX_ERROR_BYTES = 16 * 1024;

/**
 * As many fields as an origin's response can carry through the origin client (undici's 16 KiB
 * header block, `a:` lines at the least): whatever an owner may store, an entry accepts.
 */
const MAX_RESPONSE_HEADERS = 4096;
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

/** W3C trace context: `traceparent` and `tracestate`, sent only while tracing is on. */
const MAX_TRACE_FIELD = 512;

/** The owner's side: a forwarded request from its JSON, or ERR_INVALID_ARGUMENT naming the field. */
export function parseFetchRequest(text: string): { req: CacheRequest; fromRouteCache: boolean; interim: boolean; trace?: Record<string, string> } {
  const raw = jsonObject(text, 'the request body');
  let trace: Record<string, string> | undefined;
  if (raw.trace !== undefined) {
    if (!isObject(raw.trace)) invalid('trace: expected an object of trace context fields');
    trace = {};
    for (const name of ['traceparent', 'tracestate']) {
      const value = raw.trace[name];
      if (value === undefined) continue;
      if (typeof value !== 'string' || value.length > MAX_TRACE_FIELD || !HEADER_VALUE.test(value)) invalid(`trace.${name}: expected a short header value`);
      trace[name] = value;
    }
  }
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
  return { req: requestFromWire(wire), fromRouteCache: wire.from_route_cache, interim: wire.interim, trace };
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
  for (const flag of ['collapsed', 'vary_miss']) if (raw[flag] !== undefined && typeof raw[flag] !== 'boolean') invalid(`head.${flag}: expected true or false`);
  const wire: WireHead = {
    status: status as number,
    headers: checkedHeaders(raw.headers, 'head.headers', MAX_RESPONSE_HEADERS),
    outcome,
    stored,
    origin_status: originStatus as number,
    hot,
    fresh_for_ms: freshForMs,
    collapsed: raw.collapsed === true,
    vary_miss: raw.vary_miss === true,
  };
  return headFromWire(wire);
}

/** An interim response is a status and a few fields (103's Link). */
export const MAX_INTERIM_BYTES = 64 * 1024;

/** The owner's side: an interim response the origin sent, relayed to the entry that asked for them. */
export function interimToWire(status: number, headers: Record<string, string | string[]>): Buffer {
  return Buffer.from(JSON.stringify({ status, headers: headersToWire(headers) }));
}

/** The entry's side: an interim response, its status a 1xx other than 101 and its fields checked like a head's. */
export function parseInterim(text: string): { status: number; headers: Record<string, string | string[]> } {
  const raw = jsonObject(text, 'the interim response');
  const status = raw.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 199 || status === 101) invalid('interim.status: expected an informational status other than 101');
  const headers = headersFromWire(checkedHeaders(raw.headers, 'interim.headers', MAX_RESPONSE_HEADERS)) as Record<string, string | string[]>;
  return { status, headers };
}

/** `{ error: <ERR_ code>, message }`: the other side maps the code back to the same DhtError. */
export function errorToWire(code: string, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: code, message: message.slice(0, 500) }));
}

/** An error answer's code as its sender meant it; a code it cannot name counts as its internal error. */
export function parseError(text: string, context: string): DhtError {
  let sent: { error?: unknown; message?: unknown } = {};
  try {
    sent = JSON.parse(text) as typeof sent;
  } catch {
    // Not JSON: an internal error without a message of its own.
  }
  const code: ErrorCode = typeof sent?.error === 'string' && sent.error in ERROR_CODES ? (sent.error as ErrorCode) : 'ERR_INTERNAL';
  const message = typeof sent?.message === 'string' ? sent.message.slice(0, 500) : 'no message';
  return new DhtError(code, `${context}: ${message}`);
}
