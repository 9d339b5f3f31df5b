import type * as grpc from '@grpc/grpc-js';
import { DhtError } from '../../errors.js';
import { checkedPeerUrl } from '../../cache/cache-key.js';
import { variantFromWire, type WireVariant } from '../../cache/cache-wire.js';
import type { Variant } from '../../cache/stored-variant.js';
import type { OwnerEndpoint } from '../../cache/owner-endpoint.js';
import { checkedResponseFields } from '../peer/peer-wire.js';
import { unary } from './grpc-server.js';

function invalid(message: string): never {
  throw new DhtError('ERR_INVALID_ARGUMENT', message);
}

function checkedVariant(w: WireVariant, field: string): Variant {
  checkedPeerUrl(w.url, `${field}.url`);
  if (!Number.isInteger(w.status) || w.status < 100 || w.status > 599) invalid(`${field}.status: expected an HTTP status, got ${w.status}`);
  // Stored fields reach clients as they are: a hand-off is held to what a forwarded answer is.
  checkedResponseFields(w.headers.flatMap((h) => [h.name, h.value]), `${field}.headers`);
  try {
    return variantFromWire(w);
  } catch (err) {
    return invalid(`${field}: ${(err as Error).message}`);
  }
}

/**
 * cache.v1.Cache as the owner serves it: the bytes checked here, the work done by the endpoint.
 * `peerPort` is where this node's peer data channel listens.
 */
export function cacheControlImplementation(endpoint: OwnerEndpoint, peerPort: () => number): grpc.UntypedServiceImplementation {
  return {
    PeerPort: unary(async () => ({ port: peerPort() })),
    StoreObjects: unary(async (req: { variants: WireVariant[] }) => {
      await endpoint.accept(req.variants.map((w, at) => checkedVariant(w, `variants[${at}]`)));
      return {};
    }),
    Invalidate: unary(async (req: { url: string }) => {
      endpoint.invalidate(checkedPeerUrl(req.url, 'url'));
      return {};
    }),
  } as grpc.UntypedServiceImplementation;
}
