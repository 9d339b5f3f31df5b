import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { CacheResponse } from '../../cache/owner-cache.js';
import type { OwnerEndpoint } from '../../cache/owner-endpoint.js';
import { DhtError, errorCode } from '../../errors.js';
import type { Logger } from '../../runtime/logger.js';
import { continueTrace } from '../../runtime/telemetry.js';
import { httpsServerOptions, type GrpcCredentials } from '../grpc/tls.js';
import { BODY_FRAME_BYTES, frame, FrameError, frameHeader, FrameReader, FrameType, FrameWriter, lastBodyFrame } from './frames.js';
import { errorToWire, headToWire, interimToWire, MAX_REQUEST_BYTES, parseFetchRequest } from './peer-wire.js';

/** Requests one entry may have in flight on a connection; more is a misbehaving peer. */
const MAX_IN_FLIGHT = 4096;
/** An owner stops reading an entry's requests while this much of its answers waits to be sent. */
const WRITE_BACKLOG_BYTES = 8 << 20;
/** How long closing waits for the requests in flight before it cuts the connections. */
const CLOSE_GRACE_MS = 5000;
/** A connection that carries nothing this long is dropped (entries close theirs sooner). */
const IDLE_MS = 10 * 60_000;

/** What the owner reads: requests and cancellations, nothing an owner sends. */
function acceptedPayload(type: number): number | undefined {
  if (type === FrameType.FETCH) return MAX_REQUEST_BYTES;
  if (type === FrameType.CANCEL) return 0;
  return undefined;
}

export interface PeerServer {
  readonly server: Server;
  /** Stops accepting; open connections close once the requests on them are answered. */
  close(): Promise<void>;
}

/**
 * The owner's end of the peer data channel (CACHE_PEER_PORT): entries' forwarded requests
 * arrive as frames (frames.ts) and are answered by the owner endpoint; answers written in one
 * event-loop turn leave in one write. With TLS settings on, only clients with a certificate
 * from the cluster CA get past the handshake.
 */
export function createPeerServer(endpoint: OwnerEndpoint, credentials: GrpcCredentials, logger: Logger): PeerServer {
  const sessions = new Set<PeerSession>();
  const onConnection = (socket: Socket) => {
    const session = new PeerSession(socket, endpoint, logger);
    sessions.add(session);
    socket.once('close', () => sessions.delete(session));
  };
  const server = credentials.material ? createTlsServer(httpsServerOptions(credentials.material), onConnection) : createNetServer(onConnection);
  // A failed handshake is the client's problem (no certificate, wrong CA): logged, never fatal.
  server.on('tlsClientError', (err: Error) => logger.debug({ err }, 'peer TLS handshake refused'));
  return {
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.closeWhenIdle();
        // An entry that neither takes its answers nor closes does not hold the shutdown up.
        setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, CLOSE_GRACE_MS).unref();
      }),
  };
}

/** One entry's connection: its requests by id, answered in whatever order they finish. */
class PeerSession {
  private readonly inFlight = new Map<number, AbortController | undefined>();
  private readonly writer: FrameWriter;
  private closing = false;
  /** Set once a frame broke the protocol: nothing more from this entry is read. */
  private refused = false;

  constructor(
    private readonly socket: Socket,
    private readonly endpoint: OwnerEndpoint,
    private readonly logger: Logger,
  ) {
    this.writer = new FrameWriter(socket, WRITE_BACKLOG_BYTES);
    const reader = new FrameReader(acceptedPayload, (id, type, payload) => this.onFrame(id, type, payload));
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      if (this.refused) return;
      try {
        reader.push(chunk);
      } catch (err) {
        // Never thrown on from a socket handler: that would take the node down with one connection.
        if (!(err instanceof FrameError)) logger.error({ err }, 'peer frame handling failed');
        this.refuse(err instanceof FrameError ? err.message : 'internal error');
      }
    });
    socket.on('error', (err) => logger.debug({ err }, 'peer connection failed'));
    socket.once('close', () => {
      for (const cancel of this.inFlight.values()) cancel?.abort(new DhtError('ERR_ABORTED', 'the entry node went away'));
      this.inFlight.clear();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  closeWhenIdle(): void {
    this.closing = true;
    if (this.inFlight.size === 0) this.writer.end();
  }

  private onFrame(id: number, type: FrameType, payload: Buffer): void {
    if (this.refused) return;
    if (type === FrameType.CANCEL) {
      this.inFlight.get(id)?.abort(new DhtError('ERR_ABORTED', 'the entry cancelled the request'));
      return;
    }
    if (id === 0 || this.inFlight.has(id)) return this.refuse(`request id ${id} is ${id === 0 ? 'reserved' : 'already in flight'}`);
    if (this.inFlight.size >= MAX_IN_FLIGHT) return this.refuse(`more than ${MAX_IN_FLIGHT} requests in flight`);
    let forwarded;
    try {
      forwarded = parseFetchRequest(payload.toString('utf8'));
    } catch (err) {
      return this.answerError(id, err); // a bad request, not a bad connection
    }
    const options = { fromRouteCache: forwarded.fromRouteCache };
    // Called from the socket's data handler: a throw here would take the whole node down.
    try {
      const fresh = forwarded.trace ? undefined : this.endpoint.serveFresh(forwarded.req, options);
      if (fresh) return this.answer(id, fresh);
      const cancel = new AbortController();
      this.inFlight.set(id, cancel);
      // The origin's interim responses go on to the entry before the head, when it relays them.
      const req = forwarded.interim ? { ...forwarded.req, onInterim: (status: number, headers: Record<string, string | string[]>) => this.relayInterim(id, cancel.signal, status, headers) } : forwarded.req;
      const serve = () => this.endpoint.serve(req, { ...options, signal: cancel.signal });
      (forwarded.trace ? continueTrace(forwarded.trace, serve) : serve()).then(
        (response) => {
          if (this.inFlight.delete(id) && !cancel.signal.aborted) this.answer(id, response);
          this.afterAnswer();
        },
        (err: unknown) => this.failed(id, err),
      );
    } catch (err) {
      this.failed(id, err);
    }
  }

  private answer(id: number, response: CacheResponse): void {
    const { body } = response;
    this.writer.push(frame(id, FrameType.HEAD, headToWire(response)));
    if (body.length <= BODY_FRAME_BYTES) {
      this.writer.push(lastBodyFrame(id, body));
    } else {
      for (let at = 0; at < body.length; at += BODY_FRAME_BYTES) {
        const part = body.subarray(at, at + BODY_FRAME_BYTES);
        this.writer.push(frameHeader(id, FrameType.BODY, part.length));
        this.writer.push(part);
      }
      this.writer.push(frame(id, FrameType.END));
    }
  }

  /** A request that failed: answered unless the entry cancelled it or the connection is gone. */
  private failed(id: number, err: unknown): void {
    if (!(err instanceof DhtError)) this.logger.error({ err }, 'peer request failed');
    if (!this.inFlight.get(id)?.signal.aborted && !this.refused) this.answerError(id, err);
    this.inFlight.delete(id);
    this.afterAnswer();
  }

  private relayInterim(id: number, cancelled: AbortSignal, status: number, headers: Record<string, string | string[]>): void {
    if (!cancelled.aborted && !this.refused && this.inFlight.has(id)) this.writer.push(frame(id, FrameType.INTERIM, interimToWire(status, headers)));
  }

  private answerError(id: number, err: unknown): void {
    this.writer.push(frame(id, FrameType.ERROR, errorToWire(errorCode(err), err instanceof DhtError ? err.message : 'internal error')));
  }

  private afterAnswer(): void {
    if (this.closing && this.inFlight.size === 0) this.writer.end();
  }

  /** A frame that breaks the protocol: the entry is told why, and the connection is closed. */
  private refuse(why: string): void {
    this.logger.warn({ remote: this.socket.remoteAddress, why }, 'malformed frame on the peer data channel; connection closed');
    this.refused = true;
    this.writer.push(frame(0, FrameType.ERROR, errorToWire('ERR_INVALID_ARGUMENT', why)));
    this.writer.end();
    // An entry that keeps the connection open after being told is cut off.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    for (const cancel of this.inFlight.values()) cancel?.abort(new DhtError('ERR_ABORTED', 'the connection was closed'));
    this.inFlight.clear();
  }
}
