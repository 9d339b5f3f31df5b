import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { MAX_MESSAGE_BYTES } from './limits.js';

/** proto/ sits at the package root, three levels above both src/transport/grpc and dist/transport/grpc. */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export interface Services {
  readonly dht: grpc.ServiceClientConstructor;
  readonly cache: grpc.ServiceClientConstructor;
  readonly client: grpc.ServiceClientConstructor;
  readonly health: grpc.ServiceClientConstructor;
}

let loaded: Services | undefined;

/** The gRPC services a node serves, loaded from proto/ once per process. */
export function services(): Services {
  if (!loaded) {
    const definition = protoLoader.loadSync(
      ['dht/v1/dht.proto', 'cache/v1/cache.proto', 'client/v1/client.proto', 'grpc/health/v1/health.proto'],
      LOADER_OPTIONS,
    );
    const root = grpc.loadPackageDefinition(definition) as unknown as {
      dht: { v1: { Dht: grpc.ServiceClientConstructor } };
      cache: { v1: { Cache: grpc.ServiceClientConstructor } };
      client: { v1: { ClientAPI: grpc.ServiceClientConstructor } };
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    loaded = { dht: root.dht.v1.Dht, cache: root.cache.v1.Cache, client: root.client.v1.ClientAPI, health: root.grpc.health.v1.Health };
  }
  return loaded;
}

/** Channel settings shared by every client: keepalive finds dead peers, large messages carry hand-offs. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  // A peer that is down must fail the call now (the caller tries the next candidate), not queue it.
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2000,
  // Channelz bookkeeping costs every call; nothing here reads it.
  'grpc.enable_channelz': 0,
  // Our callers retry on the next candidate themselves; grpc-js's own retry layer only adds cost.
  'grpc.enable_retries': 0,
};

/** Trailer of client.v1 Lookup: the DHT hops the lookup took (koorde-tester and koorde-client read it). */
export const LOOKUP_HOPS_TRAILER = 'x-lookup-hops';
