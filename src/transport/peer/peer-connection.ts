import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { ForwardedResponse } from '../../cache/cache-peers.js';
import { unlisted, type ResponseHead } from '../../cache/cache-wire.js';
import { listValue } from '../../cache/header-list.js';
import { DhtError } from '../../errors.js';
import { whenAborted } from '../../runtime/abort.js';
import { httpsClientOptions, type TlsMaterial } from '../grpc/tls.js';
import { BODY_FRAME_BYTES, frame, FrameError, FrameReader, FrameType, FrameWriter } from './frames.js';
import type { InterimListener } from '../../cache/origin/origin-client.js';
import { MAX_ERROR_BYTES, MAX_HEAD_BYTES, MAX_INTERIM_BYTES, parseError, parseHead, parseInterim } from './peer-wire.js';

export interface PeerConnectionInit {
  /** How long an owner may stay silent on a request: until its head (origin fetch included), then between body frames. */
  readonly silenceTimeoutMs: number;
  /** A body longer than this (CACHE_MAX_OBJECT_MB) is cut off: no owner sends one. */
  readonly maxBodyBytes: number;
}

/** How long the TCP (and TLS) handshake with an owner may take. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Request ids wrap before u32 does; 0 is the connection's own. */
const LAST_ID = 0x7fff_ffff;

/** What the entry reads: the owner's answers, nothing an entry sends. */
function acceptedPayload(type: number): number | undefined {
  switch (type) {
    case FrameType.HEAD:
      return MAX_HEAD_BYTES;
    case FrameType.BODY:
      return BODY_FRAME_BYTES;
    case FrameType.END:
      return 0;
    case FrameType.ERROR:
      return MAX_ERROR_BYTES;
    case FrameType.INTERIM:
      return MAX_INTERIM_BYTES;
    default:
      return undefined;
  }
}

/**
 * The entry's end of one persistent connection to an owner's peer port: forwarded requests go
 * out as FETCH frames under their own ids, many at once, and each answer is matched back by id.
 * A connection that fails, or that the owner sends a malformed frame on, fails every request
 * still on it and is not used again.
 */
export class PeerConnection {
  private readonly socket: Socket;
  private readonly writer: FrameWriter;
  private readonly requests = new Map<number, PendingFetch>();
  /** Requests whose head arrived in the chunk being read. */
  private readonly headed: PendingFetch[] = [];
  private lastId = 0;
  private failure?: DhtError;

  constructor(
    host: string,
    port: number,
    material: TlsMaterial | undefined,
    private readonly init: PeerConnectionInit,
    private readonly context: string,
    /** Called once, when the connection can carry no more requests. */
    private readonly onClosed: (connection: PeerConnection) => void,
  ) {
    this.socket = material ? connectTls({ host, port, ...httpsClientOptions(material) }) : connectTcp({ host, port });
    this.socket.setNoDelay(true);
    // A host that drops the connection attempt silently is unreachable, not slow: requests move on.
    const connecting = setTimeout(() => this.fail(new DhtError('ERR_UNREACHABLE', `${this.context}: no connection in ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    this.socket.once(material ? 'secureConnect' : 'connect', () => clearTimeout(connecting));
    this.socket.once('close', () => clearTimeout(connecting));
    this.writer = new FrameWriter(this.socket);
    const reader = new FrameReader(acceptedPayload, (id, type, payload) => this.onFrame(id, type, payload));
    this.socket.on('data', (chunk: Buffer) => {
      if (this.failure) return;
      try {
        reader.push(chunk);
      } catch (err) {
        // A bad frame, or a bug handling one: either way this connection is done, the node is not.
        this.fail(new DhtError('ERR_INTERNAL', `${this.context}: ${err instanceof FrameError ? err.message : `failed to read an answer (${String(err)})`}`, { cause: err }));
      } finally {
        // Heads go to their callers once the whole chunk is read: a small body came with its head.
        for (const pending of this.headed) pending.handOver();
        this.headed.length = 0;
      }
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code === 'ETIMEDOUT' ? 'ERR_TIMEOUT' : 'ERR_UNREACHABLE';
      this.fail(new DhtError(code, `${this.context}: ${err.message}`, { cause: err }));
    });
    this.socket.on('close', () => this.fail(new DhtError('ERR_UNREACHABLE', `${this.context}: the connection closed`)));
  }

  /** Requests in flight, so that an idle connection can be told from a busy one. */
  get inFlight(): number {
    return this.requests.size;
  }

  /**
   * Sends the request (`json`, as peer-wire parses it); resolves once the owner sent the head.
   * `onInterim` hears the 1xx responses the owner relays before it, when the request asked.
   */
  fetch(json: Buffer, what: string, signal: AbortSignal | undefined, onInterim?: InterimListener): Promise<ForwardedResponse> {
    if (this.failure) return Promise.reject(this.failure);
    // Nothing is sent for a client that has gone already (a CANCEL would go before its FETCH).
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.lastId === LAST_ID ? (this.lastId = 1) : ++this.lastId;
    return new Promise((resolve, reject) => {
      const pending = new PendingFetch(`${what} from ${this.context}`, this.init, onInterim, resolve, reject, {
        headed: (p) => this.headed.push(p),
        forget: (cancelled) => {
          this.requests.delete(id);
          if (cancelled && !this.failure) this.writer.push(frame(id, FrameType.CANCEL));
        },
      });
      this.requests.set(id, pending);
      pending.watch(signal);
      this.writer.push(frame(id, FrameType.FETCH, json));
    });
  }

  close(): void {
    this.fail(new DhtError('ERR_UNREACHABLE', `${this.context}: the connection was closed`));
  }

  private onFrame(id: number, type: FrameType, payload: Buffer): void {
    if (id === 0) {
      // The owner closes the connection after telling why.
      if (type === FrameType.ERROR) return this.fail(parseError(payload.toString('utf8'), this.context));
      return this.fail(new DhtError('ERR_INTERNAL', `${this.context}: a frame of type ${type} on id 0`));
    }
    // An answer to a request this side gave up on (cancelled, timed out) may still arrive.
    this.requests.get(id)?.onFrame(type, payload);
  }

  private fail(failure: DhtError): void {
    if (this.failure) return;
    this.failure = failure;
    this.socket.destroy();
    for (const pending of this.requests.values()) pending.fail(failure);
    this.requests.clear();
    this.onClosed(this);
  }
}

/** One forwarded request: waiting for its head, then handing its body on as it arrives. */
class PendingFetch {
  private head?: ResponseHead;
  private readonly body = new BodyQueue(() => this.finish(true));
  private bodyBytes = 0;
  private readonly timer: NodeJS.Timeout;
  private stopWatching?: () => void;
  private done = false;

  constructor(
    private readonly context: string,
    private readonly init: PeerConnectionInit,
    private readonly onInterim: InterimListener | undefined,
    private readonly resolve: (response: ForwardedResponse) => void,
    private readonly reject: (err: unknown) => void,
    private readonly connection: {
      /** The head arrived: `handOver` is to be called once the chunk that carried it is read. */
      headed(pending: PendingFetch): void;
      /** Forgets the request; `cancelled`: the owner is told to stop working on it. */
      forget(cancelled: boolean): void;
    },
  ) {
    this.timer = setTimeout(this.timedOut, init.silenceTimeoutMs);
  }

  watch(signal: AbortSignal | undefined): void {
    if (!signal) return;
    if (signal.aborted) return this.aborted(signal.reason);
    this.stopWatching = whenAborted(signal, this.aborted);
  }

  onFrame(type: FrameType, payload: Buffer): void {
    if (this.done) return;
    this.timer.refresh();
    switch (type) {
      case FrameType.HEAD:
        if (this.head) return this.protocolError('a second head');
        try {
          this.head = parseHead(payload.toString('utf8'));
        } catch (err) {
          return this.protocolError((err as Error).message);
        }
        this.connection.headed(this);
        return;
      case FrameType.BODY:
        if (!this.head) return this.protocolError('a body before the head');
        this.bodyBytes += payload.length;
        if (this.bodyBytes > this.init.maxBodyBytes) {
          this.finish(true);
          this.body.fail(new DhtError('ERR_TOO_LARGE', `${this.context}: the body is over ${this.init.maxBodyBytes} bytes`));
          return;
        }
        if (payload.length > 0) this.body.push(payload);
        return;
      case FrameType.END:
        if (!this.head) return this.protocolError('the end before the head');
        this.finish(false);
        this.body.end();
        return;
      case FrameType.ERROR:
        this.fail(parseError(payload.toString('utf8'), this.context), false);
        return;
      case FrameType.INTERIM: {
        if (this.head) return this.protocolError('an interim response after the head');
        let interim;
        try {
          interim = parseInterim(payload.toString('utf8'));
        } catch (err) {
          return this.protocolError((err as Error).message);
        }
        this.onInterim?.(interim.status, interim.headers);
        return;
      }
    }
  }

  /**
   * The owner's final field list goes to the client as it came only when its Content-Length is
   * the whole body's: a wrong one would let the owner desynchronise the client's connection.
   * Otherwise the head is handed on in its map form, whose Content-Length the entry sets from the
   * body it holds (a HEAD's empty body never matches: its fields go the same way).
   */
  handOver(): void {
    const whole = this.body.whole();
    const head = this.head!;
    const trusted = head.headerList === undefined || (whole !== undefined && listValue(head.headerList, 'content-length') === String(whole.length));
    this.resolve({ head: trusted ? head : unlisted(head), chunks: this.body, body: whole });
  }

  /** The request cannot be answered: before its head the caller's promise rejects, after it the body fails. */
  fail(err: unknown, cancelled = false): void {
    if (this.done) return;
    this.finish(cancelled);
    if (this.head) this.body.fail(err);
    else this.reject(err);
  }

  private protocolError(message: string): void {
    this.fail(new DhtError('ERR_INTERNAL', `${this.context}: ${message}`), true);
  }

  private readonly timedOut = (): void => {
    this.fail(new DhtError('ERR_TIMEOUT', `${this.context}: no answer in ${this.init.silenceTimeoutMs} ms`), true);
  };

  private readonly aborted = (reason: unknown): void => {
    this.fail(reason ?? new DhtError('ERR_ABORTED', `${this.context}: aborted`), true);
  };

  private finish(cancelled: boolean): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.stopWatching?.();
    this.connection.forget(cancelled);
  }
}

/**
 * A body as it arrives, read once as an async iterable. A reader that stops early calls
 * `onAbandoned`, so the owner stops sending the rest.
 */
class BodyQueue implements AsyncIterable<Buffer> {
  private readonly chunks: Buffer[] = [];
  private ended = false;
  private failure?: unknown;
  private wake?: () => void;

  constructor(private readonly onAbandoned: () => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  fail(err: unknown): void {
    this.failure = err;
    this.wake?.();
  }

  /** The body, if it is complete and unread. */
  whole(): Buffer | undefined {
    if (!this.ended || this.failure !== undefined) return undefined;
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    let complete = false;
    try {
      for (;;) {
        if (this.chunks.length > 0) {
          yield this.chunks.shift()!;
          continue;
        }
        if (this.failure !== undefined) throw this.failure;
        if (this.ended) {
          complete = true;
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      if (!complete) this.onAbandoned();
    }
  }
}
