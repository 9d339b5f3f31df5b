import type * as grpc from '@grpc/grpc-js';
import { DhtError } from '../../errors.js';
import { continueTrace } from '../../runtime/telemetry.js';
import { checkedPeerUrl } from '../../cache/cache-key.js';
import { headToWire, requestFromWire, variantFromWire, type WireFetchRequest, type WireVariant } from '../../cache/cache-wire.js';
import type { Variant } from '../../cache/object-store.js';
import type { OwnerEndpoint } from '../../cache/owner-endpoint.js';
import { callSignal, unary } from './grpc-server.js';
import { toServiceError } from './errors.js';

/** Body bytes per streamed message. */
const CHUNK_BYTES = 64 * 1024;

function invalid(message: string): never {
  throw new DhtError('ERR_INVALID_ARGUMENT', message);
}

function checkedVariant(w: WireVariant, field: string): Variant {
  checkedPeerUrl(w.url, `${field}.url`);
  if (!Number.isInteger(w.status) || w.status < 100 || w.status > 599) invalid(`${field}.status: expected an HTTP status, got ${w.status}`);
  try {
    return variantFromWire(w);
  } catch (err) {
    return invalid(`${field}: ${(err as Error).message}`);
  }
}

/** dht.v1.Cache as the owner serves it: the bytes checked here, the work done by the endpoint. */
export function cacheControlImplementation(endpoint: OwnerEndpoint): grpc.UntypedServiceImplementation {
  return {
    Fetch: (call: grpc.ServerWritableStream<WireFetchRequest, unknown>) => {
      const fail = (err: unknown) => call.emit('error', toServiceError(err));
      let req: ReturnType<typeof requestFromWire>;
      try {
        req = requestFromWire({ ...call.request, url: checkedPeerUrl(call.request.url, 'url') });
      } catch (err) {
        fail(err);
        return;
      }
      const headers = Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)]));
      const entryGone = callSignal(call); // the entry cancels when its client went away
      continueTrace(headers, () => endpoint.serve(req, { fromRouteCache: call.request.from_route_cache, signal: entryGone })).then((response) => {
        call.write({ head: headToWire(response) });
        for (let at = 0; at < response.body.length; at += CHUNK_BYTES) call.write({ chunk: response.body.subarray(at, at + CHUNK_BYTES) });
        call.end();
      }, fail);
    },
    StoreObjects: unary(async (req: { variants: WireVariant[] }, signal) => {
      await endpoint.accept(
        req.variants.map((w, at) => checkedVariant(w, `variants[${at}]`)),
        signal,
      );
      return {};
    }),
    Invalidate: unary(async (req: { url: string }) => {
      endpoint.invalidate(checkedPeerUrl(req.url, 'url'));
      return {};
    }),
  } as grpc.UntypedServiceImplementation;
}
