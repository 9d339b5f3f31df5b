import { Pool } from 'undici';
import type { CachePeers, ForwardedResponse, ForwardOptions } from '../../cache/cache-peers.js';
import { headersToWire, type WireFetchRequest } from '../../cache/cache-wire.js';
import type { Variant } from '../../cache/stored-variant.js';
import type { CacheRequest } from '../../cache/owner-cache.js';
import { DhtError, ERROR_CODES, type ErrorCode } from '../../errors.js';
import { sleep, type Clock } from '../../runtime/clock.js';
import { traceHeaders } from '../../runtime/telemetry.js';
import { DEFAULT_PEER_CHANNELS, PeerChannels } from '../grpc/peer-channels.js';
import { httpsClientOptions, type GrpcCredentials } from '../grpc/tls.js';
import { FETCH_PATH, MAX_ERROR_BYTES, MAX_HEAD_BYTES, parseHead } from './peer-wire.js';

export interface HttpCachePeersInit {
  /** How long an owner may take to send a response head: its origin fetch included. */
  readonly headTimeoutMs: number;
  /** DHT_HOP_DELAY: the lab delay every node-to-node call gets, forwards included. */
  readonly hopDelayMs: number;
  /** A body longer than this (CACHE_MAX_OBJECT_MB) is cut off: no owner sends one. */
  readonly maxBodyBytes: number;
  /** Keep-alive connections per owner. */
  readonly connectionsPerPeer: number;
}

/** What the data channel needs of the control plane (the gRPC CacheControlClient in a node). */
export interface PeerControl {
  store(addr: string, variants: readonly Variant[], signal?: AbortSignal): Promise<void>;
  invalidate(addr: string, url: string): Promise<void>;
  /** The port of the peer's data channel, on the host of its ring address. */
  peerPort(addr: string): Promise<number>;
  close(): void;
}

/** A pool to one owner, closed when the owner is forgotten or idle. */
class PeerPool {
  constructor(readonly pool: Pool) {}

  close(): void {
    this.pool.destroy().catch(() => undefined); // a pool being torn down has no one left to tell
  }
}

/**
 * The entry's side of the peer data channel: forwarded requests go to the owner's peer port
 * over HTTP/1.1 keep-alive (an undici Pool per owner); hand-offs and invalidations stay on the
 * gRPC control plane, which also tells where an owner's peer port is. Only ring addresses are
 * ever dialled: the host is the owner's ring address's, the port the owner's own answer.
 */
export class HttpCachePeers implements CachePeers {
  private readonly pools: PeerChannels<PeerPool>;
  /** Port lookups in flight, so concurrent first requests to an owner ask once. */
  private readonly learning = new Map<string, Promise<PeerPool>>();

  constructor(
    private readonly control: PeerControl,
    private readonly credentials: GrpcCredentials,
    private readonly clock: Clock,
    private readonly init: HttpCachePeersInit,
  ) {
    this.pools = new PeerChannels<PeerPool>({ ...DEFAULT_PEER_CHANNELS, clock });
  }

  async fetch(addr: string, req: CacheRequest, options: ForwardOptions): Promise<ForwardedResponse> {
    const { signal } = options;
    if (this.init.hopDelayMs > 0) await sleep(this.clock, this.init.hopDelayMs, signal);
    const peer = await this.pool(addr);
    const context = `fetch of ${req.url.slice(0, 200)} from ${addr}`;
    const wire: WireFetchRequest = { url: req.url, method: req.method, headers: headersToWire(req.headers), from_route_cache: options.fromRouteCache, interim: req.onInterim !== undefined };
    const body = JSON.stringify(wire);
    let answer;
    try {
      answer = await peer.pool.request({
        path: FETCH_PATH,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...traceHeaders() },
        body,
        signal,
        onInfo: req.onInterim && (({ statusCode, headers }) => req.onInterim!(statusCode, headers)),
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const failure = transportFailure(err, context);
      // Refused or reset: the owner may have restarted on another port; learn it again next time.
      if (failure.code === 'ERR_UNREACHABLE') this.forget(addr, peer);
      throw failure;
    }
    if (answer.statusCode !== 200) throw await remoteError(answer.statusCode, answer.body, context);
    return readFrame(answer.body, this.init.maxBodyBytes, context);
  }

  store(addr: string, variants: readonly Variant[], signal?: AbortSignal): Promise<void> {
    return this.control.store(addr, variants, signal);
  }

  invalidate(addr: string, url: string): Promise<void> {
    return this.control.invalidate(addr, url);
  }

  close(): void {
    for (const peer of this.pools.values()) peer.close();
    this.pools.clear();
    this.control.close();
  }

  /** The owner's pool; its port is asked for once, by whichever request meets it first. */
  private pool(addr: string): Promise<PeerPool> {
    const open = this.pools.get(addr);
    if (open) return Promise.resolve(open);
    let pending = this.learning.get(addr);
    if (!pending) {
      // Not cancelled with one client's request: others may wait for the same answer (it has a deadline).
      pending = this.control.peerPort(addr).then((port) => {
        const peer = new PeerPool(this.connect(addr, port));
        this.pools.set(addr, peer);
        return peer;
      });
      const settled = () => this.learning.delete(addr);
      pending.then(settled, settled);
      this.learning.set(addr, pending);
    }
    return pending;
  }

  private connect(addr: string, port: number): Pool {
    const host = addr.slice(0, addr.lastIndexOf(':'));
    const material = this.credentials.material;
    return new Pool(`${material ? 'https' : 'http'}://${host}:${port}`, {
      connections: this.init.connectionsPerPeer,
      headersTimeout: this.init.headTimeoutMs,
      bodyTimeout: this.init.headTimeoutMs,
      keepAliveTimeout: 30_000,
      connect: material ? httpsClientOptions(material) : undefined,
    });
  }

  private forget(addr: string, peer: PeerPool): void {
    if (this.pools.get(addr) === peer) this.pools.delete(addr);
  }
}

const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** The owner could not be reached or did not answer in time: retryable, like a dead peer. */
function transportFailure(err: unknown, context: string): DhtError {
  const code = (err as { code?: string }).code ?? '';
  return new DhtError(TIMEOUTS.has(code) ? 'ERR_TIMEOUT' : 'ERR_UNREACHABLE', `${context}: ${(err as Error).message}`, { cause: err });
}

/** An error answer's code, as the owner meant it; a code it cannot name counts as its internal error. */
async function remoteError(status: number, body: AsyncIterable<Buffer> & { destroy(): unknown }, context: string): Promise<DhtError> {
  let text = '';
  try {
    for await (const chunk of body) {
      text += chunk.toString('utf8');
      if (text.length > MAX_ERROR_BYTES) break;
    }
  } catch {
    // A broken error answer is still an error answer: its status says enough.
  }
  body.destroy();
  let sent: { error?: unknown; message?: unknown } = {};
  try {
    sent = JSON.parse(text.slice(0, MAX_ERROR_BYTES)) as typeof sent;
  } catch {
    // Not JSON: the status alone.
  }
  const code: ErrorCode = typeof sent.error === 'string' && sent.error in ERROR_CODES ? (sent.error as ErrorCode) : 'ERR_INTERNAL';
  const message = typeof sent.message === 'string' ? sent.message.slice(0, 500) : `status ${status}`;
  return new DhtError(code, `${context}: ${message}`);
}

/** Reads the length-prefixed head, then hands the rest of the body on as it arrives. */
async function readFrame(body: AsyncIterable<Buffer> & { destroy(): unknown }, maxBodyBytes: number, context: string): Promise<ForwardedResponse> {
  const iterator = body[Symbol.asyncIterator]();
  const fail = (message: string): never => {
    body.destroy();
    throw new DhtError('ERR_INTERNAL', `${context}: ${message}`);
  };
  let buffered = Buffer.alloc(0);
  let headBytes: number | undefined;
  for (;;) {
    if (headBytes === undefined && buffered.length >= 4) {
      headBytes = buffered.readUInt32BE(0);
      if (headBytes > MAX_HEAD_BYTES) fail(`a response head of ${headBytes} bytes is over the limit of ${MAX_HEAD_BYTES}`);
    }
    if (headBytes !== undefined && buffered.length >= 4 + headBytes) break;
    let next: IteratorResult<Buffer>;
    try {
      next = await iterator.next();
    } catch (err) {
      throw transportFailure(err, context);
    }
    if (next.done) fail('the answer ended before its head');
    buffered = Buffer.concat([buffered, next.value as Buffer]);
  }
  let head;
  try {
    head = parseHead(buffered.subarray(4, 4 + headBytes).toString('utf8'));
  } catch (err) {
    body.destroy();
    throw new DhtError('ERR_INTERNAL', `${context}: ${(err as Error).message}`);
  }
  const first = buffered.subarray(4 + headBytes);
  return { head, chunks: bodyChunks(first, iterator, body, maxBodyBytes, context) };
}

async function* bodyChunks(
  first: Buffer,
  rest: AsyncIterator<Buffer>,
  body: { destroy(): unknown },
  maxBodyBytes: number,
  context: string,
): AsyncIterable<Buffer> {
  let bytes = 0;
  try {
    for (let chunk: Buffer | undefined = first; ; ) {
      if (chunk && chunk.length > 0) {
        bytes += chunk.length;
        if (bytes > maxBodyBytes) throw new DhtError('ERR_TOO_LARGE', `${context}: the body is over ${maxBodyBytes} bytes`);
        yield chunk;
      }
      let next: IteratorResult<Buffer>;
      try {
        next = await rest.next();
      } catch (err) {
        throw transportFailure(err, context);
      }
      if (next.done) return;
      chunk = next.value;
    }
  } finally {
    body.destroy(); // a reader that stopped early frees the connection
  }
}
