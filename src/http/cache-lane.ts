import { Server, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { readLaneRequest, MAX_HEAD_BYTES, type LaneRequest } from './lane-request.js';
import { LaneResponse } from './lane-response.js';

export type LaneHandler = (req: LaneRequest, res: LaneResponse) => void;

/** What node:http writes when a request head takes longer than its headersTimeout. */
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/**
 * An HTTP server whose connections start in the cache lane: plain `GET`/`HEAD /cache` requests
 * (lane-request.ts) are read and answered on the socket directly, without node:http's
 * per-request objects, which cost a cached hit more than the rest of its work together
 * (docs/benchmarks/hitpath-profile.md). The first request the lane does not take hands the
 * connection, from that request on, to node:http, for good: every other route, bodies,
 * upgrades, HTTP/1.0 and every malformed head get node:http's own handling.
 */
export class LanedServer extends Server {
  readonly #connections = new Set<LaneConnection>();
  readonly #nodeConnection: (socket: Socket) => void;
  #closing = false;

  constructor(onRequest: (req: IncomingMessage, res: ServerResponse) => void, readonly onLaneRequest: LaneHandler) {
    super(onRequest);
    // node:http's own connection listener, called for the connections handed to it.
    const [nodeConnection, ...others] = this.listeners('connection') as ((socket: Socket) => void)[];
    if (!nodeConnection || others.length > 0) throw new Error('node:http registered an unexpected number of connection listeners');
    this.removeListener('connection', nodeConnection);
    this.#nodeConnection = nodeConnection;
    this.on('connection', (socket: Socket) => this.#connections.add(new LaneConnection(socket, this)));
  }

  /** node:http calls this when the server closes: connections waiting for a request end then, in the lane too. */
  override closeIdleConnections(): void {
    super.closeIdleConnections();
    this.#closing = true;
    for (const connection of this.#connections) connection.closeIfIdle();
  }

  override closeAllConnections(): void {
    super.closeAllConnections();
    for (const connection of this.#connections) connection.socket.destroy();
  }

  /** The server is closing: answers end their connection. */
  get closing(): boolean {
    return this.#closing;
  }

  /** `socket`, which the lane no longer reads, from now on node:http's. */
  handOver(connection: LaneConnection): void {
    this.#connections.delete(connection);
    this.#nodeConnection.call(this, connection.socket);
  }

  forget(connection: LaneConnection): void {
    this.#connections.delete(connection);
  }
}

/**
 * One client connection while it is in the lane: requests are answered one at a time, in
 * order (pipelined ones wait in the buffer, and reading stops while it holds more than a
 * head's worth, or while the client leaves answers unread).
 */
class LaneConnection {
  /** Bytes received and not yet read as requests. */
  #pending: Buffer | null = null;
  /** An answer is being written. */
  #busy = false;
  /** Inside #readRequests: an answer given synchronously does not start another loop. */
  #reading = false;
  /** The client has sent its last byte (half-close). */
  #ended = false;
  /** The connection is ending: nothing more is read. */
  #closed = false;
  #headTimer?: NodeJS.Timeout;

  constructor(
    readonly socket: Socket,
    private readonly server: LanedServer,
  ) {
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
    socket.on('timeout', this.#onIdle);
    socket.setTimeout(server.keepAliveTimeout);
  }

  closeIfIdle(): void {
    if (!this.#busy) this.socket.destroy();
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closed) return;
    this.#pending = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    if (this.#busy) {
      if (this.#pending.length > MAX_HEAD_BYTES) this.socket.pause();
      return;
    }
    this.#readRequests();
  };

  #readRequests(): void {
    this.#reading = true;
    while (this.#pending && !this.#busy && !this.#closed) {
      // A client that does not read its answers gets no more until it has read these.
      if (this.socket.writableNeedDrain) {
        this.#reading = false;
        return this.#awaitDrain();
      }
      const read = readLaneRequest(this.#pending, 0);
      if (read === 'partial') break;
      if (read === 'foreign') {
        this.#reading = false;
        // A stream that has ended takes no bytes back, so node:http cannot be given the rest of a
        // half-closed connection: it ends here, as node:http ends one when its client half-closes.
        return this.#ended ? this.#end() : this.#handOver();
      }
      this.#pending = read.end === this.#pending.length ? null : this.#pending.subarray(read.end);
      this.#answer(read);
    }
    this.#reading = false;
    if (this.#busy || this.#closed) return;
    if (this.#ended) this.#end();
    else if (this.#pending) this.#awaitHead();
    else this.#clearHeadTimer();
  }

  #awaitDrain(): void {
    this.socket.pause();
    this.socket.once('drain', () => {
      this.socket.resume();
      if (!this.#busy && !this.#reading) this.#readRequests();
    });
  }

  #answer(req: LaneRequest): void {
    this.#busy = true;
    this.#clearHeadTimer();
    const close = req.close || this.#ended || this.server.closing;
    const res = new LaneResponse(this.socket, req.method === 'HEAD', close, Math.floor(this.server.keepAliveTimeout / 1000), this.#answered);
    this.server.onLaneRequest(req, res);
  }

  readonly #answered = (close: boolean): void => {
    this.#busy = false;
    if (close || this.server.closing) return this.#end();
    if (this.socket.isPaused()) this.socket.resume();
    if (!this.#reading) this.#readRequests();
  };

  /** A head has begun but not ended: it must end within node:http's headersTimeout, as there. */
  #awaitHead(): void {
    this.#headTimer ??= setTimeout(() => {
      this.#closed = true;
      this.socket.end(REQUEST_TIMEOUT, 'latin1');
    }, this.server.headersTimeout).unref();
  }

  #clearHeadTimer(): void {
    clearTimeout(this.#headTimer);
    this.#headTimer = undefined;
  }

  #end(): void {
    this.#closed = true;
    this.#clearHeadTimer();
    this.socket.end();
  }

  /** From the request at the start of #pending on, node:http reads this connection. */
  #handOver(): void {
    this.#clearHeadTimer();
    this.socket.setTimeout(0);
    this.socket.off('data', this.#onData).off('end', this.#onEnd).off('error', this.#onError).off('close', this.#onClose).off('timeout', this.#onIdle);
    this.socket.pause();
    if (this.#pending) this.socket.unshift(this.#pending);
    this.#pending = null;
    this.server.handOver(this);
    this.socket.resume();
  }

  readonly #onEnd = (): void => {
    this.#ended = true;
    if (!this.#busy) this.#end();
  };

  /** A reset or a failed write: the socket closes, and an answer still being made finds it destroyed. */
  readonly #onError = (): void => {
    this.socket.destroy();
  };

  readonly #onClose = (): void => {
    this.#closed = true;
    this.#clearHeadTimer();
    this.server.forget(this);
  };

  /** Idle for keepAliveTimeout (node:http's rule for a kept-alive connection). */
  readonly #onIdle = (): void => {
    if (!this.#busy) this.socket.destroy();
  };
}
