import { DhtError } from '../../errors.js';
import type { IdSpace } from '../../id/id-space.js';
import type { NodeRef } from '../../id/node-ref.js';
import type { KoordeCarry } from '../../routing/route-step.js';
import type { DigestEntry, StoredItem } from '../../stored-item.js';

/** host:port with a DNS name of at most 253 characters, or a bracketed IPv6 address. */
export const MAX_ADDR_LENGTH = 260;
/** Successor lists hold at most 64 nodes, de Bruijn lists 257, finger tables 160: room for all. */
export const MAX_NODE_LIST = 512;

const ADDR = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):(\d{1,5})$/i;
const LOWER_HEX = /^[0-9a-f]+$/;

function invalid(field: string, problem: string): never {
  throw new DhtError('ERR_INVALID_ARGUMENT', `${field}: ${problem}`);
}

/**
 * Checked readers for the fields of dht.v1 messages. Every byte from a peer is hostile until it
 * passed here: ids must be lower-case hex below 2^b, addresses well-formed, lists bounded, so
 * that nothing downstream (the Koorde shift loop, the ring, the store) sees an impossible value.
 * A failure is ERR_INVALID_ARGUMENT naming the field.
 */
export class WireFields {
  private readonly maxHexDigits: number;

  constructor(private readonly ids: IdSpace) {
    this.maxHexDigits = Math.ceil(ids.bits / 4);
  }

  id(raw: unknown, field: string): bigint {
    if (typeof raw !== 'string' || raw === '') invalid(field, 'an id must be non-empty lower-case hex');
    if (raw.length > this.maxHexDigits || !LOWER_HEX.test(raw)) {
      invalid(field, `an id must be lower-case hex of at most ${this.maxHexDigits} digits, got ${preview(raw)}`);
    }
    const id = BigInt('0x' + raw);
    if (id >= this.ids.size) invalid(field, `id ${raw} does not fit in ${this.ids.bits} bits`);
    return id;
  }

  /** An optional id: the empty string stands for "none". */
  maybeId(raw: unknown, field: string): bigint | undefined {
    return raw === '' || raw === undefined || raw === null ? undefined : this.id(raw, field);
  }

  addr(raw: unknown, field: string): string {
    if (typeof raw !== 'string' || raw.length > MAX_ADDR_LENGTH) invalid(field, `an address must be host:port of at most ${MAX_ADDR_LENGTH} characters`);
    const port = ADDR.exec(raw)?.[2];
    if (port === undefined || Number(port) < 1 || Number(port) > 65535) invalid(field, `an address must be host:port, got ${preview(raw)}`);
    return raw;
  }

  ref(raw: unknown, field: string): NodeRef {
    const w = this.message(raw, field);
    return { id: this.id(w.id, `${field}.id`), addr: this.addr(w.addr, `${field}.addr`) };
  }

  /** Unset message fields arrive as null. */
  maybeRef(raw: unknown, field: string): NodeRef | undefined {
    return raw === null || raw === undefined ? undefined : this.ref(raw, field);
  }

  refs(raw: unknown, field: string): NodeRef[] {
    return this.list(raw, field, MAX_NODE_LIST).map((w, at) => this.ref(w, `${field}[${at}]`));
  }

  maybeCarry(raw: unknown, field: string): KoordeCarry | undefined {
    if (raw === null || raw === undefined) return undefined;
    const w = this.message(raw, field);
    return { i: this.id(w.i, `${field}.i`), kshift: this.id(w.kshift, `${field}.kshift`) };
  }

  item(raw: unknown, field: string): StoredItem {
    const w = this.message(raw, field);
    return { key: this.text(w.key, `${field}.key`), value: this.text(w.value, `${field}.value`), version: this.count(w.version, `${field}.version`), deleted: this.flag(w.deleted, `${field}.deleted`) };
  }

  items(raw: unknown, field: string): StoredItem[] {
    return this.list(raw, field).map((w, at) => this.item(w, `${field}[${at}]`));
  }

  digest(raw: unknown, field: string): DigestEntry[] {
    return this.list(raw, field).map((w, at) => {
      const entry = this.message(w, `${field}[${at}]`);
      return { key: this.text(entry.key, `${field}[${at}].key`), version: this.count(entry.version, `${field}[${at}].version`) };
    });
  }

  texts(raw: unknown, field: string): string[] {
    return this.list(raw, field).map((w, at) => this.text(w, `${field}[${at}]`));
  }

  /** Strings; their size limits are the store's policy (KV_MAX_KEY_BYTES, KV_MAX_VALUE_BYTES). */
  text(raw: unknown, field: string): string {
    return typeof raw === 'string' ? raw : invalid(field, 'expected a string');
  }

  /** A non-negative integer that a Number holds exactly (uint64 2^64 − 1 does not). */
  count(raw: unknown, field: string): number {
    return typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0 ? raw : invalid(field, `expected an integer from 0 to 2^53 − 1, got ${preview(String(raw))}`);
  }

  flag(raw: unknown, field: string): boolean {
    return typeof raw === 'boolean' ? raw : invalid(field, 'expected a boolean');
  }

  oneOf<T extends string>(raw: unknown, choices: readonly T[], field: string): T {
    return (choices as readonly unknown[]).includes(raw) ? (raw as T) : invalid(field, `expected one of ${choices.join(', ')}`);
  }

  message(raw: unknown, field: string): Record<string, unknown> {
    return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : invalid(field, 'expected a message');
  }

  list(raw: unknown, field: string, max = Number.MAX_SAFE_INTEGER): unknown[] {
    if (raw === null || raw === undefined) return [];
    if (!Array.isArray(raw)) invalid(field, 'expected a list');
    if (raw.length > max) invalid(field, `at most ${max} entries, got ${raw.length}`);
    return raw;
  }
}

/** Enough of a hostile value to recognise it in an error, never the 5000 characters of it. */
function preview(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
