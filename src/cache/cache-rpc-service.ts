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
/** Longer than any URL browsers and CDNs pass on. */
const MAX_URL_LENGTH = 16 * 1024;

export interface CacheServiceDeps {
  readonly owner: OwnerCache;
  /** Whether this node owns the URL's key now (checked for routes an entry took from its cache). */
  owns(url: string): boolean;
  /** Whether this node owns or replicates the URL's key: peers hand it only such objects. */
  covers(url: string, signal: AbortSignal): Promise<boolean>;
  /** Keeps objects handed over by a previous owner. */
  accept(variants: readonly Variant[]): void;
}

function invalid(message: string): never {
  throw new DhtError('ERR_INVALID_ARGUMENT', message);
}

/** URLs from the wire are cache keys: absolute http(s), of bounded length. */
function checkedUrl(raw: unknown, field: string): string {
  if (typeof raw !== 'string' || raw.length > MAX_URL_LENGTH) invalid(`${field}: expected a URL of at most ${MAX_URL_LENGTH} characters`);
  const protocol = URL.canParse(raw) ? new URL(raw).protocol : undefined;
  if (protocol !== 'http:' && protocol !== 'https:') invalid(`${field}: expected an absolute http(s) URL, got ${JSON.stringify(raw.slice(0, 64))}`);
  return raw;
}

function checkedVariant(w: WireVariant, field: string): Variant {
  checkedUrl(w.url, `${field}.url`);
  if (!Number.isInteger(w.status) || w.status < 100 || w.status > 599) invalid(`${field}.status: expected an HTTP status, got ${w.status}`);
  try {
    return variantFromWire(w);
  } catch (err) {
    return invalid(`${field}: ${(err as Error).message}`);
  }
}

/** dht.v1.Cache as the owner serves it. */
export function cacheImplementation(deps: CacheServiceDeps): grpc.UntypedServiceImplementation {
  return {
    Fetch: (call: grpc.ServerWritableStream<WireFetchRequest, unknown>) => {
      const fail = (err: unknown) => call.emit('error', toServiceError(err));
      let req: ReturnType<typeof requestFromWire>;
      try {
        req = requestFromWire({ ...call.request, url: checkedUrl(call.request.url, 'url') });
      } catch (err) {
        fail(err);
        return;
      }
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
    StoreObjects: unary(async (req: { variants: WireVariant[] }, signal) => {
      const variants = req.variants.map((w, at) => checkedVariant(w, `variants[${at}]`));
      // Only objects this node is responsible for: anyone else's would poison its cache.
      for (const variant of variants) {
        if (!(await deps.covers(variant.url, signal))) throw new DhtError('ERR_NOT_OWNER', `${variant.url.slice(0, 64)} is neither owned nor replicated by this node`);
      }
      deps.accept(variants);
      return {};
    }),
    Invalidate: unary(async (req: { url: string }) => {
      deps.owner.invalidate(checkedUrl(req.url, 'url'));
      return {};
    }),
  } as grpc.UntypedServiceImplementation;
}
