import type { NodeRef } from '../../id/node-ref.js';
import type { DhtMethod, DhtRequest, DhtResponse, HopKind, KoordeCarry, RouteStep } from '../../rpc/messages.js';
import type { StoredItem } from '../../storage/item-store.js';

/** A decoded protobuf message as @grpc/proto-loader hands it over (keepCase, longs as Number). */
export type Wire = Record<string, unknown>;

interface WireRef {
  id: string;
  addr: string;
}

const hex = (x: bigint): string => x.toString(16);
const big = (s: unknown): bigint => BigInt('0x' + (typeof s === 'string' && s ? s : '0'));
const ref = (n: NodeRef): WireRef => ({ id: hex(n.id), addr: n.addr });
const unref = (w: unknown): NodeRef => ({ id: big((w as WireRef).id), addr: (w as WireRef).addr });
const refs = (list: readonly NodeRef[]): WireRef[] => list.map(ref);
const unrefs = (w: unknown): NodeRef[] => ((w as unknown[] | undefined) ?? []).map(unref);
/** Unset message fields arrive as null. */
const maybeRef = (w: unknown): NodeRef | undefined => (w ? unref(w) : undefined);
const carry = (c: KoordeCarry | undefined): Wire | null => (c ? { i: hex(c.i), kshift: hex(c.kshift) } : null);
const uncarry = (w: unknown): KoordeCarry | undefined => (w ? { i: big((w as Wire).i), kshift: big((w as Wire).kshift) } : undefined);
const item = (w: unknown): StoredItem => {
  const { key, value, version, deleted } = w as { key: string; value: string; version: number; deleted: boolean };
  return { key, value, version: Number(version), deleted };
};
const items = (w: unknown): StoredItem[] => ((w as unknown[] | undefined) ?? []).map(item);
const same = <T>(x: T): Wire => x as unknown as Wire;
const empty = () => ({}) as Record<string, never>;

export interface MethodCodec<M extends DhtMethod> {
  /** The rpc's name in dht.v1.Dht. */
  readonly rpc: string;
  encodeRequest(req: DhtRequest<M>): Wire;
  decodeRequest(wire: Wire): DhtRequest<M>;
  encodeResponse(res: DhtResponse<M>): Wire;
  decodeResponse(wire: Wire): DhtResponse<M>;
}

/** How each node-to-node method crosses the wire: bigints as hex, absent fields as null. */
export const DHT_CODECS: { readonly [M in DhtMethod]: MethodCodec<M> } = {
  ping: { rpc: 'Ping', encodeRequest: same, decodeRequest: empty, encodeResponse: same, decodeResponse: empty },
  describe: {
    rpc: 'Describe',
    encodeRequest: same,
    decodeRequest: empty,
    encodeResponse: (d) => ({
      status: d.status,
      protocol: d.protocol,
      predecessor: d.predecessor ? ref(d.predecessor) : null,
      successors: refs(d.successors),
      pointers: refs(d.pointers),
      figures: d.figures,
    }),
    decodeResponse: (w) => ({
      status: String(w.status),
      protocol: String(w.protocol),
      predecessor: maybeRef(w.predecessor),
      successors: unrefs(w.successors),
      pointers: unrefs(w.pointers),
      figures: String(w.figures ?? ''),
    }),
  },
  getNeighbours: {
    rpc: 'GetNeighbours',
    encodeRequest: same,
    decodeRequest: empty,
    encodeResponse: (r) => ({ predecessor: r.predecessor ? ref(r.predecessor) : null, successors: refs(r.successors) }),
    decodeResponse: (w) => ({ predecessor: maybeRef(w.predecessor), successors: unrefs(w.successors) }),
  },
  notify: {
    rpc: 'Notify',
    encodeRequest: (r) => ({ node: ref(r.node) }),
    decodeRequest: (w) => ({ node: unref(w.node) }),
    encodeResponse: same,
    decodeResponse: empty,
  },
  findNext: {
    rpc: 'FindNext',
    encodeRequest: (r) => ({ key: hex(r.key), carry: carry(r.carry) }),
    decodeRequest: (w) => ({ key: big(w.key), carry: uncarry(w.carry) }),
    encodeResponse: (s) =>
      s.done
        ? { done: true, successors: refs(s.successors) }
        : {
            done: false,
            hop: s.hop,
            candidates: refs(s.candidates),
            carry: carry(s.carry),
            shifts: s.shifts,
            imaginary: s.imaginary === undefined ? '' : hex(s.imaginary),
            successors: refs(s.successors),
          },
    decodeResponse: (w): RouteStep =>
      w.done
        ? { done: true, successors: unrefs(w.successors) }
        : {
            done: false,
            hop: w.hop as HopKind,
            candidates: unrefs(w.candidates),
            carry: uncarry(w.carry),
            shifts: Number(w.shifts),
            imaginary: w.imaginary ? big(w.imaginary) : undefined,
            successors: unrefs(w.successors),
          },
  },
  lookup: {
    rpc: 'Lookup',
    encodeRequest: (r) => ({ key: hex(r.key) }),
    decodeRequest: (w) => ({ key: big(w.key) }),
    encodeResponse: (a) => ({ owner: ref(a.owner), predecessor: ref(a.predecessor), successors: refs(a.successors), hops: a.hops }),
    decodeResponse: (w) => ({ owner: unref(w.owner), predecessor: unref(w.predecessor), successors: unrefs(w.successors), hops: Number(w.hops) }),
  },
  leave: {
    rpc: 'Leave',
    encodeRequest: (r) => ({ node: ref(r.node), predecessor: r.predecessor ? ref(r.predecessor) : null, successors: refs(r.successors) }),
    decodeRequest: (w) => ({ node: unref(w.node), predecessor: maybeRef(w.predecessor), successors: unrefs(w.successors) }),
    encodeResponse: same,
    decodeResponse: empty,
  },
  storePut: {
    rpc: 'StorePut',
    encodeRequest: same,
    decodeRequest: (w) => ({ key: String(w.key), value: String(w.value), deleted: Boolean(w.deleted) }),
    encodeResponse: same,
    decodeResponse: (w) => ({ version: Number(w.version) }),
  },
  storeGet: {
    rpc: 'StoreGet',
    encodeRequest: same,
    decodeRequest: (w) => ({ key: String(w.key) }),
    encodeResponse: (r) => ({ item: r.item ?? null }),
    decodeResponse: (w) => ({ item: w.item ? item(w.item) : undefined }),
  },
  storeItems: {
    rpc: 'StoreItems',
    encodeRequest: (r) => ({ items: r.items }),
    decodeRequest: (w) => ({ items: items(w.items) }),
    encodeResponse: same,
    decodeResponse: empty,
  },
  syncDigest: {
    rpc: 'SyncDigest',
    encodeRequest: (r) => ({ from: hex(r.from), to: hex(r.to), digest: r.digest }),
    decodeRequest: (w) => ({
      from: big(w.from),
      to: big(w.to),
      digest: ((w.digest as Wire[] | undefined) ?? []).map((d) => ({ key: String(d.key), version: Number(d.version) })),
    }),
    encodeResponse: (r) => ({ want: r.want, newer: r.newer }),
    decodeResponse: (w) => ({ want: ((w.want as string[] | undefined) ?? []).map(String), newer: items(w.newer) }),
  },
};
