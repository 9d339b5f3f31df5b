import * as grpc from '@grpc/grpc-js';
import { DhtError } from '../../errors.js';
import type { DhtMethod, Handlers } from '../../rpc/messages.js';
import type { IdSpace } from '../../id/id-space.js';
import { dhtCodecs, type Wire } from './codec.js';
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
export function unary<Req, Res>(impl: (request: Req, signal: AbortSignal, trailer: grpc.Metadata) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    // Extra facts a handler may send beside a response whose fields are fixed (client.v1).
    const trailer = new grpc.Metadata();
    impl(call.request, callSignal(call), trailer).then(
      (response) => callback(null, response, trailer),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

/**
 * The dht.v1.Dht service over a node's handler map: the same handlers the simulator calls. A
 * malformed request never reaches them: the codec answers INVALID_ARGUMENT.
 */
export function dhtImplementation(handlers: Handlers, ids: IdSpace): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  const codecs = dhtCodecs(ids);
  for (const method of Object.keys(codecs) as DhtMethod[]) {
    const codec = codecs[method];
    const handler = handlers[method] as (req: unknown, ctx: { signal: AbortSignal }) => Promise<never>;
    implementation[codec.rpc] = unary<Wire, Wire>(async (request: Wire, signal) => {
      const response = await handler(codec.decodeRequest(request), { signal });
      return codec.encodeResponse(response);
    }) as grpc.UntypedHandleCall;
  }
  return implementation;
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
