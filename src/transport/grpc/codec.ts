import type { NodeRef } from '../../id/node-ref.js';
import type { HopKind, KoordeCarry } from '../../routing/route-step.js';
import type { DhtMethod, DhtRequest, DhtResponse } from '../../rpc/messages.js';
import type { IdSpace } from '../../id/id-space.js';
import { WireFields } from './wire-fields.js';

/** A decoded protobuf message as @grpc/proto-loader hands it over (keepCase, longs as Number). */
export type Wire = Record<string, unknown>;

interface WireRef {
  id: string;
  addr: string;
}

const hex = (x: bigint): string => x.toString(16);
const ref = (n: NodeRef): WireRef => ({ id: hex(n.id), addr: n.addr });
const refs = (list: readonly NodeRef[]): WireRef[] => list.map(ref);
const carry = (c: KoordeCarry | undefined): Wire | null => (c ? { i: hex(c.i), kshift: hex(c.kshift) } : null);
const same = <T>(x: T): Wire => x as unknown as Wire;
const empty = () => ({}) as Record<string, never>;
const HOP_KINDS: readonly HopKind[] = ['finger', 'successor', 'debruijn', 'correction'];

export interface MethodCodec<M extends DhtMethod> {
  /** The rpc's name in dht.v1.Dht. */
  readonly rpc: string;
  encodeRequest(req: DhtRequest<M>): Wire;
  decodeRequest(wire: Wire): DhtRequest<M>;
  encodeResponse(res: DhtResponse<M>): Wire;
  decodeResponse(wire: Wire): DhtResponse<M>;
}

export type DhtCodecs = { readonly [M in DhtMethod]: MethodCodec<M> };

/**
 * How each node-to-node method crosses the wire: bigints as hex, absent fields as null. Decoding
 * checks every field (both requests and peers' answers) against the ring of 2^b ids and throws
 * ERR_INVALID_ARGUMENT for anything malformed.
 */
export function dhtCodecs(ids: IdSpace): DhtCodecs {
  const f = new WireFields(ids);
  return {
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
        status: f.text(w.status, 'status'),
        protocol: f.text(w.protocol, 'protocol'),
        predecessor: f.maybeRef(w.predecessor, 'predecessor'),
        successors: f.refs(w.successors, 'successors'),
        pointers: f.refs(w.pointers, 'pointers'),
        figures: f.text(w.figures, 'figures'),
      }),
    },
    getNeighbours: {
      rpc: 'GetNeighbours',
      encodeRequest: same,
      decodeRequest: empty,
      encodeResponse: (r) => ({ predecessor: r.predecessor ? ref(r.predecessor) : null, successors: refs(r.successors) }),
      decodeResponse: (w) => ({ predecessor: f.maybeRef(w.predecessor, 'predecessor'), successors: f.refs(w.successors, 'successors') }),
    },
    notify: {
      rpc: 'Notify',
      encodeRequest: (r) => ({ node: ref(r.node) }),
      decodeRequest: (w) => ({ node: f.ref(w.node, 'node') }),
      encodeResponse: same,
      decodeResponse: empty,
    },
    findNext: {
      rpc: 'FindNext',
      encodeRequest: (r) => ({ key: hex(r.key), carry: carry(r.carry) }),
      decodeRequest: (w) => ({ key: f.id(w.key, 'key'), carry: f.maybeCarry(w.carry, 'carry') }),
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
      decodeResponse: (w) =>
        f.flag(w.done, 'done')
          ? { done: true, successors: f.refs(w.successors, 'successors') }
          : {
              done: false,
              hop: f.oneOf(w.hop, HOP_KINDS, 'hop'),
              candidates: f.refs(w.candidates, 'candidates'),
              carry: f.maybeCarry(w.carry, 'carry'),
              shifts: f.count(w.shifts, 'shifts'),
              imaginary: f.maybeId(w.imaginary, 'imaginary'),
              successors: f.refs(w.successors, 'successors'),
            },
    },
    lookup: {
      rpc: 'Lookup',
      encodeRequest: (r) => ({ key: hex(r.key) }),
      decodeRequest: (w) => ({ key: f.id(w.key, 'key') }),
      encodeResponse: (a) => ({ owner: ref(a.owner), predecessor: ref(a.predecessor), successors: refs(a.successors), hops: a.hops }),
      decodeResponse: (w) => ({
        owner: f.ref(w.owner, 'owner'),
        predecessor: f.ref(w.predecessor, 'predecessor'),
        successors: f.refs(w.successors, 'successors'),
        hops: f.count(w.hops, 'hops'),
      }),
    },
    leave: {
      rpc: 'Leave',
      encodeRequest: (r) => ({ node: ref(r.node), predecessor: r.predecessor ? ref(r.predecessor) : null, successors: refs(r.successors) }),
      decodeRequest: (w) => ({ node: f.ref(w.node, 'node'), predecessor: f.maybeRef(w.predecessor, 'predecessor'), successors: f.refs(w.successors, 'successors') }),
      encodeResponse: same,
      decodeResponse: empty,
    },
    storePut: {
      rpc: 'StorePut',
      encodeRequest: same,
      decodeRequest: (w) => ({ key: f.text(w.key, 'key'), value: f.text(w.value, 'value'), deleted: f.flag(w.deleted, 'deleted') }),
      encodeResponse: same,
      decodeResponse: (w) => ({ version: f.count(w.version, 'version') }),
    },
    storeGet: {
      rpc: 'StoreGet',
      encodeRequest: same,
      decodeRequest: (w) => ({ key: f.text(w.key, 'key') }),
      encodeResponse: (r) => ({ item: r.item ?? null }),
      decodeResponse: (w) => ({ item: w.item === null || w.item === undefined ? undefined : f.item(w.item, 'item') }),
    },
    storeItems: {
      rpc: 'StoreItems',
      encodeRequest: (r) => ({ items: r.items }),
      decodeRequest: (w) => ({ items: f.items(w.items, 'items') }),
      encodeResponse: same,
      decodeResponse: empty,
    },
    syncDigest: {
      rpc: 'SyncDigest',
      encodeRequest: (r) => ({ from: hex(r.from), to: hex(r.to), digest: r.digest }),
      decodeRequest: (w) => ({ from: f.id(w.from, 'from'), to: f.id(w.to, 'to'), digest: f.digest(w.digest, 'digest') }),
      encodeResponse: (r) => ({ want: r.want, newer: r.newer }),
      decodeResponse: (w) => ({ want: f.texts(w.want, 'want'), newer: f.items(w.newer, 'newer') }),
    },
  };
}
