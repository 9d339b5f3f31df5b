import { DhtError } from '../../errors.js';
import type { IdSpace } from '../../id/id-space.js';
import type { DhtMethod, DhtRequest, Handlers } from '../../rpc/messages.js';
import { abortable } from '../../runtime/abort.js';
import type { Clock } from '../../runtime/clock.js';
import type { Rng } from '../../runtime/rng.js';
import { dhtCodecs, type DhtCodecs, type MethodCodec } from '../grpc/codec.js';
import type { Listener, Transport } from '../transport.js';

export interface MemoryNetworkInit {
  /** The ring every request is checked against, as a gRPC server checks what it receives. */
  readonly ids: IdSpace;
  /** One-way delay of a message from `from` to `to`, in ms. */
  readonly latencyMs: (from: string, to: string) => number;
  /** Probability that any one message (request or response) is dropped, until setLossRate changes it. */
  readonly lossRate: number;
}

/**
 * An in-process network for the simulator: the same handlers a gRPC server would call, with
 * per-link latency on a virtual clock, message loss, crashed nodes and partitions. A crashed
 * node refuses connections (like a dead process on a live host); a lost message or a
 * partition gives silence, which only the caller's deadline ends. Each request is checked as
 * the wire's codec checks it, so a malformed one gets ERR_INVALID_ARGUMENT here too.
 */
export class MemoryNetwork {
  private readonly endpoints = new Map<string, Handlers>();
  /** Addresses by side of the partition; nodes not listed are on side 0. */
  private readonly sides = new Map<string, number>();
  /** Messages sent, by method, since the last reset. */
  readonly sent = new Map<DhtMethod, number>();
  private readonly codecs: DhtCodecs;
  #lossRate: number;

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
    private readonly init: MemoryNetworkInit,
  ) {
    this.codecs = dhtCodecs(init.ids);
    this.#lossRate = init.lossRate;
  }

  /** From now on, drops each message with this probability (a lossy phase, or its end). */
  setLossRate(rate: number): void {
    this.#lossRate = rate;
  }

  listener(addr: string): Listener {
    return {
      listen: async (handlers) => {
        this.endpoints.set(addr, handlers);
      },
      close: async () => {
        this.endpoints.delete(addr);
      },
    };
  }

  transport(from: string): Transport {
    return { call: (to, method, req, options = {}) => this.deliver(from, to, method, req, options.signal) };
  }

  /** The node's process dies: connections to it are refused from now on. */
  crash(addr: string): void {
    this.endpoints.delete(addr);
  }

  /** Splits the network: messages between different sides are silently dropped. */
  partition(...groups: string[][]): void {
    this.sides.clear();
    groups.forEach((group, side) => group.forEach((addr) => this.sides.set(addr, side + 1)));
  }

  heal(): void {
    this.sides.clear();
  }

  resetCounters(): void {
    this.sent.clear();
  }

  private deliver<M extends DhtMethod>(
    from: string,
    to: string,
    method: M,
    req: DhtRequest<M>,
    signal?: AbortSignal,
  ): Promise<never> {
    this.sent.set(method, (this.sent.get(method) ?? 0) + 1);
    return abortable<never>(signal, (resolve, reject) => {
      if (this.dropped(from, to)) return;
      const delay = this.init.latencyMs(from, to);
      this.clock.setTimeout(() => {
        const handlers = this.endpoints.get(to);
        if (!handlers) {
          reject(new DhtError('ERR_UNREACHABLE', `${to} refused the connection`));
          return;
        }
        const reply = (finish: () => void) => {
          if (!this.dropped(to, from)) this.clock.setTimeout(finish, this.init.latencyMs(to, from));
        };
        const handler = handlers[method] as (req: unknown, ctx: { signal: AbortSignal }) => Promise<never>;
        let answer: Promise<never>;
        try {
          answer = handler(this.received(method, req), { signal: signal ?? new AbortController().signal });
        } catch (err) {
          answer = Promise.reject(err);
        }
        answer.then(
          (res) => reply(() => resolve(res)),
          (err: unknown) => reply(() => reject(asRemoteError(err, `${method} to ${to}`))),
        );
      }, delay);
    });
  }

  /** The request as a server would decode it from the wire; throws ERR_INVALID_ARGUMENT for a malformed one. */
  private received<M extends DhtMethod>(method: M, req: DhtRequest<M>): DhtRequest<M> {
    const codec = this.codecs[method] as unknown as MethodCodec<M>;
    return codec.decodeRequest(codec.encodeRequest(req));
  }

  private dropped(from: string, to: string): boolean {
    if ((this.sides.get(from) ?? 0) !== (this.sides.get(to) ?? 0)) return true;
    return this.#lossRate > 0 && this.rng.next() < this.#lossRate;
  }
}

/** As the wire does it: whatever a handler throws reaches the caller as a DhtError, a foreign exception as ERR_INTERNAL. */
function asRemoteError(err: unknown, context: string): DhtError {
  if (err instanceof DhtError) return err;
  return new DhtError('ERR_INTERNAL', `${context}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
