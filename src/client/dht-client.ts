import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, LOOKUP_HOPS_TRAILER, services } from '../transport/grpc/protos.js';
import { GrpcCredentials } from '../transport/grpc/tls.js';

export interface NodeInfo {
  readonly id: string;
  readonly addr: string;
}

export interface RoutingTable {
  readonly self: NodeInfo;
  readonly predecessor: NodeInfo | null;
  readonly successors: readonly NodeInfo[];
  readonly de_bruijn_list: readonly NodeInfo[];
}

/** A failed call, said the way a person would say it. */
export class ClientError extends Error {
  constructor(
    readonly kind: 'not found' | 'unreachable' | 'timeout' | 'invalid input' | 'failed',
    message: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

/** client.v1.ClientAPI over gRPC, each call with a deadline. */
export class DhtClient {
  private readonly client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  /** Why a connection may fail after TCP connected, for the error a person reads. */
  private readonly handshakeHint: string;

  constructor(
    readonly addr: string,
    private readonly timeoutMs: number,
    /** Mutual TLS material when the ring requires it; plaintext by default. */
    credentials = GrpcCredentials.PLAINTEXT,
  ) {
    this.handshakeHint = credentials.mutualTls
      ? 'TLS handshake failed: the node does not trust this certificate, this CA did not sign its certificate, or it runs plaintext'
      : 'if the node runs mutual TLS, give --tls-ca, --tls-cert and --tls-key';
    this.client = credentials.client(services().client, addr, {
      ...CHANNEL_OPTIONS,
      'grpc.keepalive_permit_without_calls': 0,
    }) as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  }

  async put(key: string, value: string): Promise<void> {
    await this.unary('Put', { resource: { key, value } });
  }

  async get(key: string): Promise<string> {
    return ((await this.unary('Get', { key })) as { value: string }).value;
  }

  async delete(key: string): Promise<void> {
    await this.unary('Delete', { key });
  }

  /** The owner of a hex id, and the hops it took when the node reports them (this project's nodes do). */
  lookup(id: string): Promise<{ successor: NodeInfo; hops?: number }> {
    return new Promise((resolve, reject) => {
      let answer: { successor: NodeInfo } | undefined;
      const call = this.client.Lookup!({ id }, { deadline: this.deadline() }, (err: grpc.ServiceError | null, response: { successor: NodeInfo }) => {
        if (err) reject(this.explain(err));
        else answer = response;
      }) as grpc.ClientUnaryCall;
      // grpc-js hands over the response first, then the status with its trailer.
      call.on('status', (status: grpc.StatusObject) => {
        if (!answer) return;
        const raw = String(status.metadata.get(LOOKUP_HOPS_TRAILER)[0] ?? '');
        resolve({ successor: answer.successor, hops: /^\d{1,4}$/.test(raw) ? Number(raw) : undefined });
      });
    });
  }

  async routingTable(): Promise<RoutingTable> {
    return (await this.unary('GetRoutingTable', {})) as RoutingTable;
  }

  /** This node's own pairs (owned and replicated), as the GetStore stream sends them. */
  store(): Promise<{ key: string; value: string; id: string }[]> {
    return new Promise((resolve, reject) => {
      const items: { key: string; value: string; id: string }[] = [];
      const stream = this.client.GetStore!({}, { deadline: this.deadline() }) as grpc.ClientReadableStream<{ item: { key: string; value: string }; id: string }>;
      stream.on('data', (m) => items.push({ key: m.item.key, value: m.item.value, id: m.id }));
      stream.on('error', (err: grpc.ServiceError) => reject(this.explain(err)));
      stream.on('end', () => resolve(items));
    });
  }

  close(): void {
    this.client.close();
  }

  private unary(method: string, request: object): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.client[method]!(request, { deadline: this.deadline() }, (err: grpc.ServiceError | null, response: unknown) =>
        err ? reject(this.explain(err)) : resolve(response),
      );
    });
  }

  private deadline(): Date {
    return new Date(Date.now() + this.timeoutMs);
  }

  private explain(err: grpc.ServiceError): ClientError {
    switch (err.code) {
      case grpc.status.NOT_FOUND:
        return new ClientError('not found', err.details);
      case grpc.status.UNAVAILABLE:
        // A refused connection is this node; anything else comes from the ring behind it.
        if (/ECONNREFUSED/.test(err.details)) return new ClientError('unreachable', `could not reach ${this.addr} (connection refused)`);
        // A node that runs mutual TLS drops a client it does not trust during the handshake.
        if (/No connection established/.test(err.details)) return new ClientError('unreachable', `could not connect to ${this.addr} (${this.handshakeHint}): ${err.details}`);
        return new ClientError('unreachable', err.details);
      case grpc.status.DEADLINE_EXCEEDED:
        return new ClientError('timeout', `no answer from ${this.addr} within ${this.timeoutMs / 1000} s`);
      case grpc.status.INVALID_ARGUMENT:
        return new ClientError('invalid input', err.details);
      default:
        return new ClientError('failed', err.details || err.message);
    }
  }
}
