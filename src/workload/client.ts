import { Agent, request } from 'undici';
import { Deadlines } from './deadlines.js';
import { httpErrorKind, isSuccess, transportErrorKind, type ErrorKind } from './error-kind.js';
import { objectUrl, requestUrl, type WorkloadMode } from './request-url.js';

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

  constructor(private readonly init: CacheClientInit) {
    this.#agent = new Agent({ connections: init.connections, connect: { timeout: init.timeoutMs } });
    this.#deadlines = new Deadlines(init.timeoutMs);
  }

  /**
   * Never rejects: failures become samples with an `error` kind. `scheduledAt` (performance.now()
   * time) is when the request was due; latency counts from it.
   */
  async fetch(index: number, urlId: number, scheduledAt = performance.now()): Promise<Sample> {
    const target = this.init.route?.(urlId) ?? this.init.targets[index % this.init.targets.length]!;
    const url = requestUrl(target, objectUrl(this.init.urlTemplate, urlId), this.init.mode);
    const startedAt = performance.timeOrigin + performance.now();
    const deadline = this.#deadlines.start();
    try {
      const { statusCode, headers, body } = await request(url, { dispatcher: this.#agent, signal: deadline });
      let bytes = 0;
      for await (const chunk of body) bytes += (chunk as Buffer).length;
      const hops = header(headers['x-hops']);
      return {
        urlId,
        target,
        startedAt,
        latencyMs: performance.now() - scheduledAt,
        status: statusCode,
        cacheStatus: header(headers['x-cache']),
        nodeId: header(headers['x-node-id']),
        responsibleNode: header(headers['x-responsible-node']),
        hops: hops !== undefined && Number.isFinite(Number(hops)) ? Number(hops) : undefined,
        bytes,
        error: isSuccess(statusCode) ? undefined : httpErrorKind(statusCode),
      };
    } catch (err) {
      return { urlId, target, startedAt, latencyMs: performance.now() - scheduledAt, bytes: 0, error: transportErrorKind(err) };
    } finally {
      this.#deadlines.end(deadline);
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

function header(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}
