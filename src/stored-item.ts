/**
 * The key-value pair as the store keeps it and the wire carries it. It stands apart from both
 * so that the protocol and its codec need nothing of the store's code.
 */

/** One key-value pair as replicas exchange it. A delete is a tombstone, so it wins over older puts. */
export interface StoredItem {
  readonly key: string;
  readonly value: string;
  /** Last writer wins: higher versions replace lower ones (ties broken by value, so every replica agrees). */
  readonly version: number;
  readonly deleted: boolean;
}

/** What anti-entropy compares: a key and the version held of it. */
export interface DigestEntry {
  readonly key: string;
  readonly version: number;
}
