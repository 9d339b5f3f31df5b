import { Agent, type Dispatcher } from 'undici';
import { Deadlines } from './deadlines.js';
import { httpErrorKind, isSuccess, transportErrorKind, type ErrorKind } from './error-kind.js';
import { objectUrl, requestPath, targetAddress, type TargetAddress, type WorkloadMode } from './request-url.js';

/** One request as the generator saw it: a CSV row and an input of the summary. */
export interface Sample {
  /** Rank of the object (1 = most popular), the `{i}` of the URL template. */
  readonly urlId: number;
  readonly target: string;
  /** When the request started, ms since the Unix epoch. */
  readonly startedAt: number;
  /**
   * From when the request was scheduled to start (open loop: its due time, even when it started
   * late) until the whole body was read (or the failure), ms.
   */
  readonly latencyMs: number;
  /** HTTP status; undefined when no answer came. */
  readonly status?: number;
  /** Response headers of the HTTP API (docs/api.md), when present. */
  readonly cacheStatus?: string;
  readonly nodeId?: string;
  readonly responsibleNode?: string;
  readonly hops?: number;
  readonly bytes: number;
  /** Undefined for a success (2xx/3xx). */
  readonly error?: ErrorKind;
}

export interface CacheClientInit {
  /** Base URLs, used round-robin by request index unless `route` picks one. */
  readonly targets: readonly string[];
  /** Picks the target for an object instead (a client-side routing scheme, e.g. a hash baseline). */
  readonly route?: (urlId: number) => string;
  readonly mode: WorkloadMode;
  readonly urlTemplate: string;
  /** Whole-request deadline, connect to last body byte. */
  readonly timeoutMs: number;
  /** Keep-alive connections per target: about the concurrency, so no request queues for a socket. */
  readonly connections: number;
}

/** Issues the generator's GETs over pooled keep-alive connections and turns each into a Sample. */
export class CacheClient {
  readonly #agent: Agent;
  readonly #deadlines: Deadlines;
  readonly #addresses = new Map<string, TargetAddress>();

  constructor(private readonly init: CacheClientInit) {
    this.#agent = new Agent({ connections: init.connections, connect: { timeout: init.timeoutMs } });
    this.#deadlines = new Deadlines(init.timeoutMs);
  }

  /**
   * Never rejects: failures become samples with an `error` kind. `scheduledAt` (performance.now()
   * time) is when the request was due; latency counts from it.
   */
  fetch(index: number, urlId: number, scheduledAt = performance.now()): Promise<Sample> {
    const target = this.init.route?.(urlId) ?? this.init.targets[index % this.init.targets.length]!;
    let address = this.#addresses.get(target);
    if (!address) this.#addresses.set(target, (address = targetAddress(target)));
    const path = address.prefix + requestPath(objectUrl(this.init.urlTemplate, urlId), this.init.mode);
    return new Promise((resolve) => {
      const exchange = new Exchange(urlId, target, scheduledAt, (sample) => {
        this.#deadlines.end(deadline);
        resolve(sample);
      });
      const deadline = this.#deadlines.start((reason) => exchange.abort(reason));
      try {
        this.#agent.dispatch({ origin: address.origin, path, method: 'GET' }, exchange);
      } catch (err) {
        exchange.onError(err as Error); // e.g. the agent was closed
      }
    });
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** The API headers a sample keeps (docs/api.md), by their lower-case names. */
const KEPT_HEADERS = new Set(['x-cache', 'x-node-id', 'x-responsible-node', 'x-hops']);

/**
 * One GET as undici's dispatcher drives it, read straight from its callbacks: the body is
 * counted, not kept, and only the headers a sample keeps are decoded. `request()` with its body
 * stream and header object cost the generator twice the CPU per request (CPU the nodes it
 * measures share). undici 7's Client calls these (legacy) handler methods itself; the newer ones
 * would parse every header into an object first.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #startedAt = performance.timeOrigin + performance.now();
  #abort?: (reason: Error) => void;
  #expired?: DOMException;
  #status?: number;
  #headers: Record<string, string> = {};
  #bytes = 0;
  #done = false;

  constructor(
    private readonly urlId: number,
    private readonly target: string,
    private readonly scheduledAt: number,
    private readonly settle: (sample: Sample) => void,
  ) {}

  /** The deadline passed: the request fails now; one not sent yet is withdrawn once undici starts it. */
  abort(reason: DOMException): void {
    this.#expired = reason;
    if (this.#abort) this.#abort(reason);
    else this.onError(reason);
  }

  onConnect(abort: (reason: Error) => void): void {
    this.#abort = abort;
    if (this.#expired) abort(this.#expired);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // an interim answer; the final one follows
    this.#status = statusCode;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toString('latin1').toLowerCase();
      // The first of a repeated field, as the summary reads it.
      if (KEPT_HEADERS.has(name) && !(name in this.#headers)) this.#headers[name] = rawHeaders[i + 1]!.toString('latin1');
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#bytes += chunk.length;
    return true;
  }

  onComplete(): void {
    const status = this.#status!;
    const hops = this.#headers['x-hops'];
    this.#finish({
      status,
      cacheStatus: this.#headers['x-cache'] || undefined,
      nodeId: this.#headers['x-node-id'] || undefined,
      responsibleNode: this.#headers['x-responsible-node'] || undefined,
      hops: hops !== undefined && hops !== '' && Number.isFinite(Number(hops)) ? Number(hops) : undefined,
      bytes: this.#bytes,
      error: isSuccess(status) ? undefined : httpErrorKind(status),
    });
  }

  onError(err: Error): void {
    this.#finish({ bytes: 0, error: transportErrorKind(err) });
  }

  #finish(outcome: Omit<Sample, 'urlId' | 'target' | 'startedAt' | 'latencyMs'>): void {
    if (this.#done) return;
    this.#done = true;
    this.settle({ urlId: this.urlId, target: this.target, startedAt: this.#startedAt, latencyMs: performance.now() - this.scheduledAt, ...outcome });
  }
}
