import type { DhtMethod, DhtRequest, DhtResponse, Handlers } from '../rpc/messages.js';

export interface CallOptions {
  /** Aborting it abandons the call; the call rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Sends node-to-node requests. Implementations: gRPC (production) and the in-memory simulated
 * network. Failures reject with a DhtError (ERR_TIMEOUT, ERR_UNREACHABLE, …).
 */
export interface Transport {
  call<M extends DhtMethod>(to: string, method: M, req: DhtRequest<M>, options?: CallOptions): Promise<DhtResponse<M>>;
}

/** Where a node receives requests: it hands over its handlers once and can stop listening. */
export interface Listener {
  listen(handlers: Handlers): Promise<void>;
  close(): Promise<void>;
}
