import type { Headers } from './freshness.js';
import type { HeaderList } from './header-list.js';
import type { CacheRequest, CacheResponse, Outcome } from './owner-cache.js';
import { CachePolicy } from './rfc9111/policy.js';
import type { Variant } from './stored-variant.js';

/** cache.v1.Header: one per value, so multi-valued headers (Set-Cookie) survive. */
export interface WireHeader {
  name: string;
  value: string;
}

export function headersToWire(headers: Headers | Readonly<Record<string, string>>): WireHeader[] {
  return Object.entries(headers).flatMap(([name, value]) =>
    value === undefined ? [] : Array.isArray(value) ? value.map((v) => ({ name, value: v })) : [{ name, value }],
  );
}

function listToWire(list: HeaderList): WireHeader[] {
  const out: WireHeader[] = [];
  for (let i = 0; i < list.length; i += 2) out.push({ name: list[i]!, value: list[i + 1]! });
  return out;
}

export function headersFromWire(list: readonly WireHeader[] | undefined): Headers {
  const out: Record<string, string | string[]> = {};
  for (const { name, value } of list ?? []) {
    const seen = out[name];
    out[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}

/**
 * Fields of a client request a gateway entry passes on: every end-to-end one, so the entry
 * refuses a request with more before anything is forwarded (node:http alone would take 2000).
 */
export const MAX_CLIENT_REQUEST_FIELDS = 100;
/** Fields a forwarded request may carry: the client's plus this proxy's Via and X-Forwarded-For/-Proto. */
export const MAX_REQUEST_FIELDS = MAX_CLIENT_REQUEST_FIELDS + 3;

export interface WireFetchRequest {
  url: string;
  method: string;
  headers: WireHeader[];
  from_route_cache: boolean;
  /** The entry relays the origin's interim responses to its client (gateway mode): the owner sends them on. */
  interim: boolean;
}

export function requestFromWire(w: WireFetchRequest): CacheRequest {
  const headers = Object.fromEntries(Object.entries(headersFromWire(w.headers)).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v!]));
  return { url: w.url, method: w.method === 'HEAD' ? 'HEAD' : 'GET', headers };
}

export interface WireHead {
  status: number;
  headers: WireHeader[];
  outcome: string;
  stored: boolean;
  origin_status: number;
  hot: boolean;
  fresh_for_ms: number;
  collapsed?: boolean;
  vary_miss?: boolean;
}

export type ResponseHead = Omit<CacheResponse, 'body'>;

export function headToWire(r: ResponseHead): WireHead {
  return {
    status: r.status,
    // A fresh hit's prepared list, when it has one, rather than the map built from it on demand.
    headers: r.headerList ? listToWire(r.headerList) : headersToWire(r.headers),
    outcome: r.outcome,
    stored: r.stored,
    origin_status: r.originStatus ?? 0,
    hot: r.hot,
    fresh_for_ms: r.freshForMs,
    collapsed: r.collapsed === true,
    vary_miss: r.varyMiss === true,
  };
}

export function headFromWire(w: WireHead): ResponseHead {
  return {
    status: w.status,
    headers: headersFromWire(w.headers),
    outcome: w.outcome as Outcome,
    stored: w.stored,
    originStatus: w.origin_status || undefined,
    hot: w.hot,
    freshForMs: w.fresh_for_ms,
    collapsed: w.collapsed === true,
    varyMiss: w.vary_miss === true,
  };
}

export interface WireVariant {
  url: string;
  status: number;
  headers: WireHeader[];
  body: Buffer;
  policy_json: string;
  selected_by: WireHeader[];
}

export function variantToWire(v: Variant): WireVariant {
  return {
    url: v.url,
    status: v.status,
    headers: headersToWire(v.headers),
    body: v.body,
    policy_json: v.policy.toWire(),
    selected_by: headersToWire(v.selectedBy),
  };
}

export function variantFromWire(w: WireVariant): Variant {
  return {
    url: w.url,
    status: w.status,
    headers: headersFromWire(w.headers),
    body: Buffer.from(w.body),
    policy: CachePolicy.fromWire(w.policy_json),
    selectedBy: Object.fromEntries((w.selected_by ?? []).map((h) => [h.name, h.value])),
  };
}

/** Bytes a variant takes in a message: its fields plus a little per field for protobuf framing. */
export function wireVariantBytes(w: WireVariant): number {
  const header = (h: WireHeader) => Buffer.byteLength(h.name) + Buffer.byteLength(h.value) + 8;
  let bytes = 32 + Buffer.byteLength(w.url) + w.body.length + Buffer.byteLength(w.policy_json);
  for (const h of w.headers) bytes += header(h);
  for (const h of w.selected_by) bytes += header(h);
  return bytes;
}

/**
 * Items in order, cut into batches of at most `limitBytes` each; an item larger than the limit
 * goes alone in its own batch (the message limit, not the batch limit, bounds single items).
 */
export function batchByBytes<T>(items: readonly T[], sizeOf: (item: T) => number, limitBytes: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && bytes + size > limitBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
