import type { IdSpace } from '../id/id-space.js';
import type { StoredItem } from '../stored-item.js';

/** True if `a` should replace `b`. */
export function newer(a: StoredItem, b: StoredItem | undefined): boolean {
  if (!b) return true;
  if (a.version !== b.version) return a.version > b.version;
  return a.deleted !== b.deleted ? a.deleted : a.value > b.value;
}

/** The key-value pairs one node holds — its own range and the ranges it replicates. */
export class ItemStore {
  private readonly items = new Map<string, StoredItem & { readonly id: bigint }>();

  constructor(private readonly ids: IdSpace) {}

  get size(): number {
    return this.items.size;
  }

  get(key: string): StoredItem | undefined {
    return this.items.get(key);
  }

  /** Keeps `item` if it is newer than what is stored; true when it was. */
  merge(item: StoredItem): boolean {
    const current = this.items.get(item.key);
    if (!newer(item, current)) return false;
    this.items.set(item.key, { ...item, id: current?.id ?? this.ids.hash(item.key) });
    return true;
  }

  delete(key: string): void {
    this.items.delete(key);
  }

  /** Items whose key lies in (from, to]. */
  inRange(from: bigint, to: bigint): StoredItem[] {
    return [...this.items.values()].filter((item) => this.ids.inHalfOpen(item.id, from, to)).map(strip);
  }

  /** Everything, ordered by key id (so items of one owner's range come together). */
  all(): StoredItem[] {
    return [...this.items.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(strip);
  }

  keyId(key: string): bigint {
    return this.items.get(key)?.id ?? this.ids.hash(key);
  }

  /** Drops tombstones older than `before`: every replica has seen them by then. */
  dropTombstones(before: number): void {
    for (const [key, item] of this.items) if (item.deleted && item.version < before) this.items.delete(key);
  }
}

function strip({ key, value, version, deleted }: StoredItem): StoredItem {
  return { key, value, version, deleted };
}
