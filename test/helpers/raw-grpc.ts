import * as grpc from '@grpc/grpc-js';
import { services } from '../../src/transport/grpc/protos.js';

export interface RawAnswer {
  /** grpc.status of the answer: 0 = OK. */
  readonly code: number;
  readonly details: string;
  readonly response?: Record<string, unknown>;
}

type Unary = (req: unknown, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void) => void;

/** A dht.v1 client that sends whatever a test hands it, as a hostile peer would. */
export class RawPeer {
  private readonly dht: grpc.Client;
  private readonly cache: grpc.Client;

  constructor(readonly addr: string) {
    this.dht = new (services().dht)(addr, grpc.credentials.createInsecure());
    this.cache = new (services().cache)(addr, grpc.credentials.createInsecure());
  }

  /** Calls a unary rpc of dht.v1.Dht (or cache.v1.Cache) and reports the status instead of throwing. */
  call(rpc: string, req: unknown, service: 'dht' | 'cache' = 'dht', timeoutMs = 10_000): Promise<RawAnswer> {
    const client = service === 'dht' ? this.dht : this.cache;
    const method = (client as unknown as Record<string, Unary>)[rpc]!.bind(client);
    return new Promise((resolve) =>
      method(req, { deadline: Date.now() + timeoutMs }, (err, response) =>
        resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '', response }),
      ),
    );
  }

  close(): void {
    this.dht.close();
    this.cache.close();
  }
}

/**
 * /health answers (any status) within a second: the event loop is not blocked. A node stuck in
 * a loop never answers at all; three tries keep a busy test machine from failing a slow one.
 */
export async function answersHealth(http: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const res = await fetch(`${http}/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return true;
    } catch {
      // timed out or refused: try again, and report false after the last try
    }
  }
  return false;
}
