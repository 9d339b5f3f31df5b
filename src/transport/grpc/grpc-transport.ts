import * as grpc from '@grpc/grpc-js';
import type { DhtMethod, DhtRequest, DhtResponse } from '../../rpc/messages.js';
import type { CallOptions, Transport } from '../transport.js';
import { DhtError } from '../../errors.js';
import { abortable } from '../../runtime/abort.js';
import type { IdSpace } from '../../id/id-space.js';
import { dhtCodecs, type DhtCodecs, type Wire } from './codec.js';
import { fromServiceError } from './errors.js';
import { DEFAULT_PEER_CHANNELS, PeerChannels, type PeerChannelsInit } from './peer-channels.js';
import { services } from './protos.js';
import type { GrpcCredentials } from './tls.js';

type UnaryMethod = (request: Wire, callback: (err: grpc.ServiceError | null, response: Wire) => void) => grpc.ClientUnaryCall;

/**
 * Node-to-node calls over gRPC: one long-lived channel per peer (closed once the peer is gone),
 * cancelled through the caller's signal (which carries the FAILURE_TIMEOUT deadline).
 */
export class GrpcTransport implements Transport {
  private readonly clients: PeerChannels<grpc.Client>;
  private readonly codecs: DhtCodecs;

  constructor(
    ids: IdSpace,
    private readonly credentials: GrpcCredentials,
    channels: PeerChannelsInit = DEFAULT_PEER_CHANNELS,
  ) {
    this.codecs = dhtCodecs(ids);
    this.clients = new PeerChannels(channels);
  }

  /** Channels open right now. */
  get channelCount(): number {
    return this.clients.size;
  }

  call<M extends DhtMethod>(to: string, method: M, req: DhtRequest<M>, options: CallOptions = {}): Promise<DhtResponse<M>> {
    const codec = this.codecs[method];
    return abortable(options.signal, (resolve, reject) => {
      const client = this.client(to) as unknown as Record<string, UnaryMethod>;
      const call = client[codec.rpc]!.call(client, codec.encodeRequest(req), (err, response) => {
        if (err) reject(fromServiceError(err, `${method} to ${to}`));
        else {
          try {
            resolve(codec.decodeResponse(response));
          } catch (decodeErr) {
            // A malformed answer is the peer's failure, not the caller's: retryable, so the next candidate is tried.
            reject(new DhtError('ERR_INTERNAL', `${method} to ${to}: malformed answer: ${(decodeErr as Error).message}`, { cause: decodeErr }));
          }
        }
      });
      return () => call.cancel();
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
