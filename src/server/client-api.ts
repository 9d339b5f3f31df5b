import type * as grpc from '@grpc/grpc-js';
import type { NodeRef } from '../id/node-ref.js';
import { DhtError } from '../errors.js';
import { unary } from '../transport/grpc/grpc-server.js';
import { toServiceError } from '../transport/grpc/errors.js';
import { LOOKUP_HOPS_TRAILER } from '../transport/grpc/protos.js';
import type { DhtNode } from '../node/dht-node.js';
import { nodeSnapshot } from '../node/node-snapshot.js';

interface NodeInfo {
  id: string;
  addr: string;
}

/**
 * client.v1.ClientAPI (docs/api.md), wire-compatible with the original system's clients: the
 * key-value store, this node's store and routing table, and lookups.
 */
export function clientApiImplementation(node: DhtNode): grpc.UntypedServiceImplementation {
  const info = (n: NodeRef): NodeInfo => ({ id: node.ids.toPrefixedHex(n.id), addr: n.addr });
  const key = (raw: unknown): string => {
    if (typeof raw !== 'string' || raw === '') throw new DhtError('ERR_INVALID_ARGUMENT', 'the key must be a non-empty string');
    return raw;
  };
  return {
    Put: unary(async (req: { resource: { key: string; value: string } | null }, signal) => {
      if (!req.resource) throw new DhtError('ERR_INVALID_ARGUMENT', 'put needs a resource');
      await node.store.put(key(req.resource.key), req.resource.value, signal);
      return {};
    }),
    Get: unary(async (req: { key: string }, signal) => ({ value: await node.store.get(key(req.key), signal) })),
    Delete: unary(async (req: { key: string }, signal) => {
      await node.store.delete(key(req.key), signal);
      return {};
    }),
    GetStore: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      try {
        for (const item of node.store.items.all()) {
          if (!item.deleted) call.write({ item: { key: item.key, value: item.value }, id: node.ids.toPrefixedHex(node.store.items.keyId(item.key)) });
        }
        call.end();
      } catch (err) {
        call.destroy(Object.assign(new Error(String(err)), toServiceError(err)));
      }
    },
    GetRoutingTable: unary(async () => {
      const { self, predecessor, successors, pointers } = nodeSnapshot(node);
      return { self, predecessor: predecessor ?? null, successors, de_bruijn_list: pointers };
    }),
    Lookup: unary(async (req: { id: string }, signal, trailer) => {
      let id: bigint;
      try {
        id = node.ids.parseHex(req.id);
      } catch (err) {
        throw new DhtError('ERR_INVALID_ARGUMENT', (err as Error).message);
      }
      const result = await node.lookup(id, { signal });
      // LookupResponse keeps the original fields; the hop count rides in a trailer old clients ignore.
      trailer.set(LOOKUP_HOPS_TRAILER, String(result.hops));
      return { successor: info(result.owner) };
    }),
  } as grpc.UntypedServiceImplementation;
}
