import * as grpc from '@grpc/grpc-js';
import { DhtError } from '../../errors.js';
import type { CallContext, DhtMethod, Handlers } from '../../rpc/messages.js';
import type { IdSpace } from '../../id/id-space.js';
import { CALLEE_ID_METADATA, dhtCodecs, type Wire } from './codec.js';
import { toServiceError } from './errors.js';
import { CHANNEL_OPTIONS } from './protos.js';
import type { GrpcCredentials } from './tls.js';

/** A signal that aborts when the client cancels the call (or its deadline passes). */
export function callSignal(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): AbortSignal {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort(new DhtError('ERR_ABORTED', 'the caller cancelled the call')));
  return controller.signal;
}

/** Runs a promise-returning implementation as a unary gRPC method, errors mapped to statuses. */
export function unary<Req, Res>(impl: (request: Req, signal: AbortSignal, trailer: grpc.Metadata, metadata: grpc.Metadata) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    // Extra facts a handler may send beside a response whose fields are fixed (client.v1).
    const trailer = new grpc.Metadata();
    impl(call.request, callSignal(call), trailer, call.metadata).then(
      (response) => callback(null, response, trailer),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

/**
 * The dht.v1.Dht service over a node's handler map: the same handlers the simulator calls. A
 * malformed request (or callee id) never reaches them: the codec answers INVALID_ARGUMENT.
 */
export function dhtImplementation(handlers: Handlers, ids: IdSpace): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  const codecs = dhtCodecs(ids);
  for (const method of Object.keys(codecs) as DhtMethod[]) {
    const codec = codecs[method];
    const handler = handlers[method] as (req: unknown, ctx: CallContext) => Promise<never>;
    implementation[codec.rpc] = unary<Wire, Wire>(async (request: Wire, signal, _trailer, metadata) => {
      const response = await handler(codec.decodeRequest(request), { signal, calleeId: calleeIdFrom(metadata, ids) });
      return codec.encodeResponse(response);
    }) as grpc.UntypedHandleCall;
  }
  return implementation;
}

/** The id a caller knows this node by (CALLEE_ID_METADATA), if it named one: hex, one value, in the id space. */
function calleeIdFrom(metadata: grpc.Metadata, ids: IdSpace): bigint | undefined {
  const values = metadata.get(CALLEE_ID_METADATA);
  if (values.length === 0) return undefined;
  const [value] = values;
  if (values.length > 1 || typeof value !== 'string' || value.length > Math.ceil(ids.bits / 4)) {
    throw new DhtError('ERR_INVALID_ARGUMENT', `${CALLEE_ID_METADATA}: expected one id of at most ${Math.ceil(ids.bits / 4)} hex digits`);
  }
  try {
    return ids.parseHex(value);
  } catch (err) {
    throw new DhtError('ERR_INVALID_ARGUMENT', `${CALLEE_ID_METADATA}: ${(err as Error).message}`);
  }
}

export function createServer(): grpc.Server {
  return new grpc.Server(CHANNEL_OPTIONS);
}

/** Binds `host:port` (IPv6 hosts in brackets) and resolves with the bound port. */
export function listen(server: grpc.Server, host: string, port: number, credentials: GrpcCredentials): Promise<number> {
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, credentials.server(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** Lets calls in flight finish for up to `graceMs`, then cuts the rest. */
export function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
