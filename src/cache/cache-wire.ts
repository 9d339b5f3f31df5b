import type { Headers } from './freshness.js';
import type { CacheResponse } from './owner-cache.js';
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

export type ResponseHead = Omit<CacheResponse, 'body'>;

/**
 * The head with its fields as a map only, without a prepared list: what must be answered with
 * fields of its own (an Age of its own, a Content-Length from the body at hand).
 */
export function unlisted(head: ResponseHead): ResponseHead {
  return { ...head, headers: head.headers, headerList: undefined };
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
