import { DhtError } from '../errors.js';
import type { StoredItem } from '../stored-item.js';

/** What a node accepts into its key-value store, from clients and from peers alike. */
export interface KvLimits {
  /** KV_MAX_KEY_BYTES: UTF-8 bytes of a key. */
  readonly maxKeyBytes: number;
  /** KV_MAX_VALUE_BYTES: UTF-8 bytes of a value. */
  readonly maxValueBytes: number;
  /** KV_MAX_ITEMS_PER_MESSAGE: items (or digest entries) in one StoreItems or SyncDigest. */
  readonly maxItemsPerMessage: number;
  /** KV_MAX_CLOCK_SKEW: how far past this node's clock a version may lie. */
  readonly maxClockSkewMs: number;
}

export const DEFAULT_KV_LIMITS: KvLimits = {
  maxKeyBytes: 1024,
  maxValueBytes: 1024 * 1024,
  maxItemsPerMessage: 10_000,
  maxClockSkewMs: 60_000,
};

/** Bytes of one hand-off message, well below the 64 MiB gRPC message limit. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

function refuse(message: string): never {
  throw new DhtError('ERR_INVALID_ARGUMENT', message);
}

export function checkPair(key: string, value: string, limits: KvLimits): void {
  const keyBytes = Buffer.byteLength(key);
  if (keyBytes > limits.maxKeyBytes) refuse(`the key is ${keyBytes} bytes; KV_MAX_KEY_BYTES allows ${limits.maxKeyBytes}`);
  const valueBytes = Buffer.byteLength(value);
  if (valueBytes > limits.maxValueBytes) refuse(`the value of "${key.slice(0, 64)}" is ${valueBytes} bytes; KV_MAX_VALUE_BYTES allows ${limits.maxValueBytes}`);
}

export function checkCount(count: number, limits: KvLimits): void {
  if (count > limits.maxItemsPerMessage) refuse(`${count} items in one message; KV_MAX_ITEMS_PER_MESSAGE allows ${limits.maxItemsPerMessage}`);
}

/**
 * Last writer wins, so a version far in the future (a tombstone at 2^53 − 1) would win over
 * every later write and lock its key; versions come from clocks, which agree to within the skew.
 */
function checkVersion(item: StoredItem, now: number, limits: KvLimits): void {
  if (item.version > now + limits.maxClockSkewMs) {
    refuse(`the version of "${item.key.slice(0, 64)}" lies ${Math.round(item.version - now)} ms ahead of this node's clock; KV_MAX_CLOCK_SKEW allows ${limits.maxClockSkewMs}`);
  }
}

export function checkItem(item: StoredItem, now: number, limits: KvLimits): void {
  checkPair(item.key, item.value, limits);
  checkVersion(item, now, limits);
}

/** A peer's items as this node stores them: each pair within the limits, the message too. */
export function checkItems(items: readonly StoredItem[], now: number, limits: KvLimits): void {
  checkCount(items.length, limits);
  for (const item of items) checkItem(item, now, limits);
}

/** Splits a hand-off into messages the receiver accepts: at most the item limit, about 16 MiB each. */
export function batches(items: readonly StoredItem[], limits: KvLimits): StoredItem[][] {
  const out: StoredItem[][] = [];
  let batch: StoredItem[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = item.key.length + item.value.length * 3 + 32; // UTF-16 units to an upper bound of UTF-8 bytes
    if (batch.length && (batch.length === limits.maxItemsPerMessage || bytes + size > MAX_BATCH_BYTES)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length) out.push(batch);
  return out;
}
