import type * as grpc from '@grpc/grpc-js';
import { DhtError } from '../errors.js';
import { continueTrace, inSpan, SpanKind } from '../runtime/telemetry.js';
import { callSignal, unary } from '../transport/grpc/grpc-server.js';
import { toServiceError } from '../transport/grpc/errors.js';
import { headToWire, requestFromWire, variantFromWire, type WireFetchRequest, type WireVariant } from './cache-wire.js';
import type { Variant } from './object-store.js';
import type { OwnerCache } from './owner-cache.js';

/** Body bytes per streamed message. */
const CHUNK_BYTES = 64 * 1024;

export interface CacheServiceDeps {
  readonly owner: OwnerCache;
  /** Whether this node owns the URL's key now (checked for routes an entry took from its cache). */
  owns(url: string): boolean;
  /** Keeps objects handed over by a previous owner. */
  accept(variants: readonly Variant[]): void;
}

/** dht.v1.Cache as the owner serves it. */
export function cacheImplementation(deps: CacheServiceDeps): grpc.UntypedServiceImplementation {
  return {
    Fetch: (call: grpc.ServerWritableStream<WireFetchRequest, unknown>) => {
      const fail = (err: unknown) => call.emit('error', toServiceError(err));
      const req = requestFromWire(call.request);
      if (call.request.from_route_cache && !deps.owns(req.url)) {
        fail(new DhtError('ERR_NOT_OWNER', `${req.url} is not in this node's range any more`));
        return;
      }
      const headers = Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)]));
      const entryGone = callSignal(call); // the entry cancels when its client went away
      const serve = () => inSpan('cache serve', SpanKind.SERVER, { 'url.full': req.url }, async (span) => {
        const response = await deps.owner.serve(req, entryGone);
        span.setAttributes({ 'koorde.outcome': response.outcome, 'koorde.stored': response.stored, 'koorde.hot': response.hot });
        return response;
      });
      continueTrace(headers, serve).then((response) => {
        call.write({ head: headToWire(response) });
        for (let at = 0; at < response.body.length; at += CHUNK_BYTES) call.write({ chunk: response.body.subarray(at, at + CHUNK_BYTES) });
        call.end();
      }, fail);
    },
    StoreObjects: unary(async (req: { variants: WireVariant[] }) => {
      deps.accept(req.variants.map(variantFromWire));
      return {};
    }),
    Invalidate: unary(async (req: { url: string }) => {
      deps.owner.invalidate(req.url);
      return {};
    }),
  } as grpc.UntypedServiceImplementation;
}
