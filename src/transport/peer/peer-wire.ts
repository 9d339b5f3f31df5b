import { checkedPeerUrl } from '../../cache/cache-key.js';
import { MAX_REQUEST_FIELDS, type ResponseHead } from '../../cache/cache-wire.js';
import type { Headers } from '../../cache/freshness.js';
import { fromHeaderList, toHeaderList, type HeaderList } from '../../cache/header-list.js';
import { isHopByHop, SAFE_FIELD_VALUE } from '../../cache/origin/headers.js';
import type { CacheRequest, Outcome } from '../../cache/owner-cache.js';
import { DhtError, ERROR_CODES, type ErrorCode } from '../../errors.js';
import { recentResults } from '../../runtime/memo.js';

/**
 * What the peer data channel's frames (frames.ts) carry: a forwarded request and a response
 * head, both as JSON, their header fields as one flat list `[name, value, name, value, …]` (a
 * repeated field once per value), the form `res.writeHead` takes. Both sides treat every byte
 * from the other as hostile: the checks below bound and type each field.
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
const OUTCOMES: ReadonlySet<string> = new Set(['HIT', 'MISS', 'REVALIDATED', 'STALE', 'UPDATING']);

/** A forwarded request as it travels. */
interface WireFetchRequest {
  url: string;
  method: string;
  headers: HeaderList;
  from_route_cache: boolean;
  /** The entry relays the origin's interim responses to its client (gateway mode): the owner sends them on. */
  interim: boolean;
  trace?: Record<string, string>;
}

/** A response head as it travels. */
interface WireHead {
  status: number;
  headers: HeaderList;
  /**
   * `headers` are the answer's final fields, Content-Length included (a fresh hit's prepared
   * list): the entry writes them as they are.
   */
  final: boolean;
  outcome: string;
  stored: boolean;
  origin_status: number;
  hot: boolean;
  fresh_for_ms: number;
  collapsed: boolean;
  vary_miss: boolean;
}

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

/**
 * A flat field list of at most `max` fields, each name a lower-case token and each value safe to
 * write. A response's fields go to a client as they are, so they may not frame its connection
 * (Transfer-Encoding, Connection, …): the entry does that itself.
 */
function checkedHeaders(raw: unknown, field: string, max: number, response = true): HeaderList {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length % 2 !== 0 || raw.length > 2 * max) invalid(`${field}: expected a list of names and values of at most ${max} headers`);
  for (let at = 0; at < raw.length; at += 2) {
    const name: unknown = raw[at];
    const value: unknown = raw[at + 1];
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) invalid(`${field}[${at}]: expected a lower-case header name`);
    if (response && isHopByHop(name)) invalid(`${field}[${at}]: ${name} is for one connection, not an answer's field`);
    if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE || !SAFE_FIELD_VALUE.test(value)) {
      invalid(`${field}[${at + 1}]: expected a header value of at most ${MAX_HEADER_VALUE} characters without control characters`);
    }
  }
  return raw as string[];
}

/** A stored response's fields as a peer sends them, in an answer or a hand-off: checked as `checkedHeaders` does. */
export function checkedResponseFields(raw: unknown, field: string): HeaderList {
  return checkedHeaders(raw, field, MAX_RESPONSE_HEADERS);
}

/** The entry's side: a forwarded request as JSON. */
export function fetchRequestToWire(req: CacheRequest, fromRouteCache: boolean, trace?: Record<string, string>): Buffer {
  const wire: WireFetchRequest = { url: req.url, method: req.method, headers: toHeaderList(req.headers), from_route_cache: fromRouteCache, interim: req.onInterim !== undefined, trace };
  return Buffer.from(JSON.stringify(wire));
}

/** W3C trace context: `traceparent` and `tracestate`, sent only while tracing is on. */
const MAX_TRACE_FIELD = 512;

/** Parsed messages remembered per side, and the longest remembered (a head of a dozen fields is ~400 bytes). */
const MESSAGES_REMEMBERED = 1024;
const LONGEST_REMEMBERED_MESSAGE = 4096;

/** A forwarded request as the owner reads it. */
export interface ForwardedRequest {
  readonly req: CacheRequest;
  readonly fromRouteCache: boolean;
  readonly interim: boolean;
  readonly trace?: Record<string, string>;
}

/**
 * The owner's side: a forwarded request from its JSON, or ERR_INVALID_ARGUMENT naming the field.
 * Entries send the same bytes for every request of a URL from like clients, and parsing and
 * checking them was a twentieth of a forwarded hit's CPU: the answers for recent texts are
 * shared, so they are frozen (a failure is not remembered).
 */
export const parseFetchRequest = recentResults(MESSAGES_REMEMBERED, LONGEST_REMEMBERED_MESSAGE, (text: string): ForwardedRequest => {
  const forwarded = parseFetchRequestOnce(text);
  Object.freeze(forwarded.req.headers);
  return Object.freeze({ ...forwarded, req: Object.freeze(forwarded.req) });
});

function parseFetchRequestOnce(text: string): ForwardedRequest {
  const raw = jsonObject(text, 'the request body');
  let trace: Record<string, string> | undefined;
  if (raw.trace !== undefined) {
    if (!isObject(raw.trace)) invalid('trace: expected an object of trace context fields');
    trace = {};
    for (const name of ['traceparent', 'tracestate']) {
      const value = raw.trace[name];
      if (value === undefined) continue;
      if (typeof value !== 'string' || value.length > MAX_TRACE_FIELD || !SAFE_FIELD_VALUE.test(value)) invalid(`trace.${name}: expected a short header value`);
      trace[name] = value;
    }
  }
  if (raw.method !== 'GET' && raw.method !== 'HEAD') invalid('method: expected GET or HEAD');
  if (raw.from_route_cache !== undefined && typeof raw.from_route_cache !== 'boolean') invalid('from_route_cache: expected true or false');
  if (raw.interim !== undefined && typeof raw.interim !== 'boolean') invalid('interim: expected true or false');
  const list = checkedHeaders(raw.headers, 'headers', MAX_REQUEST_FIELDS, false);
  const headers: Record<string, string> = {};
  for (let at = 0; at < list.length; at += 2) {
    const name = list[at]!;
    headers[name] = headers[name] === undefined ? list[at + 1]! : `${headers[name]}, ${list[at + 1]}`;
  }
  const req: CacheRequest = { url: checkedPeerUrl(raw.url, 'url'), method: raw.method, headers };
  return { req, fromRouteCache: raw.from_route_cache === true, interim: raw.interim === true, trace };
}

/**
 * The owner's side: an answer's head as JSON; a fresh hit's prepared list goes as it is. Its
 * freshness goes in whole seconds, rounded down (the safe side for the entry's hot copy): with
 * Age also in seconds, the heads of one object are then the same bytes for a second at a time,
 * which the entry's memo of parsed heads relies on.
 */
export function headToWire(r: ResponseHead): Buffer {
  const wire: WireHead = {
    status: r.status,
    headers: r.headerList ?? toHeaderList(r.headers),
    final: r.headerList !== undefined,
    outcome: r.outcome,
    stored: r.stored,
    origin_status: r.originStatus ?? 0,
    hot: r.hot,
    fresh_for_ms: r.freshForMs - (r.freshForMs % 1000),
    collapsed: r.collapsed === true,
    vary_miss: r.varyMiss === true,
  };
  return Buffer.from(JSON.stringify(wire));
}

/**
 * The entry's side: the owner's response head, every field checked before it reaches a client.
 * An owner sends the same bytes for an object for a second at a time (headToWire), and parsing
 * and checking them was a twentieth of a forwarded hit's CPU: the heads of recent texts are
 * shared, so they are frozen (a failure is not remembered).
 */
export const parseHead = recentResults(MESSAGES_REMEMBERED, LONGEST_REMEMBERED_MESSAGE, (text: string): ResponseHead => Object.freeze(parseHeadOnce(text)));

function parseHeadOnce(text: string): ResponseHead {
  const raw = jsonObject(text, 'the response head');
  const { status, outcome, stored, origin_status: originStatus, hot, fresh_for_ms: freshForMs } = raw;
  if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) invalid('head.status: expected an HTTP status');
  if (typeof outcome !== 'string' || !OUTCOMES.has(outcome)) invalid('head.outcome: expected HIT, MISS, REVALIDATED, STALE or UPDATING');
  if (typeof stored !== 'boolean' || typeof hot !== 'boolean') invalid('head.stored, head.hot: expected true or false');
  if (!Number.isInteger(originStatus) || (originStatus as number) < 0 || (originStatus as number) > 599) invalid('head.origin_status: expected 0 or an HTTP status');
  if (typeof freshForMs !== 'number' || !Number.isFinite(freshForMs) || freshForMs < 0) invalid('head.fresh_for_ms: expected a duration');
  for (const flag of ['collapsed', 'vary_miss', 'final']) if (raw[flag] !== undefined && typeof raw[flag] !== 'boolean') invalid(`head.${flag}: expected true or false`);
  const list = checkedResponseFields(raw.headers, 'head.headers');
  const head = {
    status: status as number,
    outcome: outcome as Outcome,
    stored,
    originStatus: (originStatus as number) || undefined,
    hot,
    freshForMs,
    collapsed: raw.collapsed === true,
    varyMiss: raw.vary_miss === true,
  };
  return raw.final === true ? new ListedHead(head, list) : { ...head, headers: fromHeaderList(list) };
}

/** A head whose fields are final and listed: the map form is built only if something reads it. */
class ListedHead implements ResponseHead {
  readonly status: number;
  readonly outcome: Outcome;
  readonly stored: boolean;
  readonly originStatus?: number;
  readonly hot: boolean;
  readonly freshForMs: number;
  readonly collapsed: boolean;
  readonly varyMiss: boolean;

  constructor(
    head: Omit<ResponseHead, 'headers' | 'headerList'>,
    readonly headerList: HeaderList,
  ) {
    ({ status: this.status, outcome: this.outcome, stored: this.stored, originStatus: this.originStatus, hot: this.hot, freshForMs: this.freshForMs } = head);
    this.collapsed = head.collapsed === true;
    this.varyMiss = head.varyMiss === true;
  }

  get headers(): Headers {
    return fromHeaderList(this.headerList);
  }
}

/** An interim response is a status and a few fields (103's Link). */
export const MAX_INTERIM_BYTES = 64 * 1024;

/** The owner's side: an interim response the origin sent, relayed to the entry that asked for them. */
export function interimToWire(status: number, headers: Record<string, string | string[]>): Buffer {
  return Buffer.from(JSON.stringify({ status, headers: toHeaderList(headers) }));
}

/** The entry's side: an interim response, its status a 1xx other than 101 and its fields checked like a head's. */
export function parseInterim(text: string): { status: number; headers: Record<string, string | string[]> } {
  const raw = jsonObject(text, 'the interim response');
  const status = raw.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 199 || status === 101) invalid('interim.status: expected an informational status other than 101');
  const headers = fromHeaderList(checkedResponseFields(raw.headers, 'interim.headers'));
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
