import * as grpc from '@grpc/grpc-js';
import type { DhtMethod, DhtRequest, DhtResponse } from '../../rpc/messages.js';
import type { CallOptions, Transport } from '../transport.js';
import { DHT_CODECS, type Wire } from './codec.js';
import { fromServiceError } from './errors.js';
import { services } from './protos.js';
import type { GrpcCredentials } from './tls.js';

type UnaryMethod = (request: Wire, callback: (err: grpc.ServiceError | null, response: Wire) => void) => grpc.ClientUnaryCall;

/**
 * Node-to-node calls over gRPC: one long-lived channel per peer, cancelled through the
 * caller's signal (which carries the FAILURE_TIMEOUT deadline).
 */
export class GrpcTransport implements Transport {
  private readonly clients = new Map<string, grpc.Client>();

  constructor(private readonly credentials: GrpcCredentials) {}

  call<M extends DhtMethod>(to: string, method: M, req: DhtRequest<M>, options: CallOptions = {}): Promise<DhtResponse<M>> {
    const codec = DHT_CODECS[method];
    const { signal } = options;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const client = this.client(to) as unknown as Record<string, UnaryMethod>;
      const onAbort = () => call.cancel();
      const call = client[codec.rpc]!.call(client, codec.encodeRequest(req), (err, response) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(signal.reason);
        else if (err) reject(fromServiceError(err, `${method} to ${to}`));
        else resolve(codec.decodeResponse(response));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Closes every channel; later calls open new ones. */
  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(addr: string): grpc.Client {
    let client = this.clients.get(addr);
    if (!client) {
      client = this.credentials.client(services().dht, addr);
      this.clients.set(addr, client);
    }
    return client;
  }
}
