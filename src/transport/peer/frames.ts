import type { Socket } from 'node:net';

/**
 * The peer data channel's framing: one persistent TCP (or TLS) connection from an entry to an
 * owner carries many forwarded requests at once, each under its own request id. A frame is
 *
 *   u32 payload length | u32 request id | u8 type | payload
 *
 * big-endian. The entry sends FETCH (the request as JSON) and CANCEL; the owner answers each
 * request with HEAD (the response head as JSON), BODY frames, then END, or with one ERROR
 * (`{ error: <ERR_ code>, message }`). Before the HEAD, INTERIM frames relay the origin's 1xx
 * responses (`{ status, headers }`) when the request asked for them. An ERROR under id 0 is
 * about the connection itself:
 * its sender closes the connection after it.
 */
export const FRAME_HEADER_BYTES = 9;

export const FrameType = {
  FETCH: 1,
  CANCEL: 2,
  HEAD: 3,
  BODY: 4,
  END: 5,
  ERROR: 6,
  INTERIM: 7,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** A body goes out in frames of at most this, so one large object does not hold up the others. */
export const BODY_FRAME_BYTES = 64 * 1024;

/** A frame's fault: the connection cannot be trusted to stay in step and is closed. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** Writes a frame's header into `out` at `at`. */
function putHeader(out: Buffer, at: number, id: number, type: FrameType, payloadBytes: number): void {
  out.writeUInt32BE(payloadBytes, at);
  out.writeUInt32BE(id, at + 4);
  out[at + 8] = type;
}

/** The bytes of one frame's header. */
export function frameHeader(id: number, type: FrameType, payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  putHeader(header, 0, id, type, payloadBytes);
  return header;
}

/** One frame in one buffer: small payloads, where a copy is cheaper than a second write entry. */
export function frame(id: number, type: FrameType, payload?: Buffer): Buffer {
  const bytes = payload?.length ?? 0;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bytes);
  putHeader(out, 0, id, type, bytes);
  payload?.copy(out, FRAME_HEADER_BYTES);
  return out;
}

/** A whole small body and the END after it in one buffer: the common answer, one write entry. */
export function lastBodyFrame(id: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 * FRAME_HEADER_BYTES + body.length);
  putHeader(out, 0, id, FrameType.BODY, body.length);
  body.copy(out, FRAME_HEADER_BYTES);
  putHeader(out, FRAME_HEADER_BYTES + body.length, id, FrameType.END, 0);
  return out;
}

/**
 * Splits a byte stream into frames. `maxPayload` says, per frame type, how long a payload the
 * reading side accepts (undefined: the type is not one this side receives); a frame over it,
 * or of another type, is a FrameError before any of its payload is buffered.
 */
export class FrameReader {
  private parts: Buffer[] = [];
  private bytes = 0;
  /** Bytes the next frame needs in all: its header, then header and payload once the length is known. */
  private need = FRAME_HEADER_BYTES;

  constructor(
    private readonly maxPayload: (type: number) => number | undefined,
    private readonly onFrame: (id: number, type: FrameType, payload: Buffer) => void,
  ) {}

  /** Hands every frame completed by `chunk` on, in order; throws FrameError on a bad header. */
  push(chunk: Buffer): void {
    this.parts.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes < this.need) return;
    const buf = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    this.need = FRAME_HEADER_BYTES;
    let at = 0;
    while (buf.length - at >= FRAME_HEADER_BYTES) {
      const length = buf.readUInt32BE(at);
      const type = buf[at + 8]!;
      const max = this.maxPayload(type);
      if (max === undefined) throw new FrameError(`unexpected frame type ${type}`);
      if (length > max) throw new FrameError(`a frame of type ${type} with ${length} bytes is over the limit of ${max}`);
      const end = at + FRAME_HEADER_BYTES + length;
      if (end > buf.length) {
        this.need = FRAME_HEADER_BYTES + length;
        break;
      }
      this.onFrame(buf.readUInt32BE(at + 4), type as FrameType, buf.subarray(at + FRAME_HEADER_BYTES, end));
      at = end;
    }
    if (at < buf.length) {
      const rest = buf.subarray(at);
      this.parts.push(rest);
      this.bytes = rest.length;
    }
  }
}

/**
 * Frames written in one event-loop turn leave in one system call: a socket write costs far more
 * than the frames it carries, and many requests arrive in the same turn under load.
 */
export class FrameWriter {
  private queued: Buffer[] = [];
  private scheduled = false;
  private ending = false;

  constructor(
    private readonly socket: Socket,
    /**
     * Stop reading the socket while more than this waits to be sent, until it drains: an owner
     * whose entry does not take its answers stops taking that entry's requests (every kind of
     * answer counts, errors included). Undefined: never (an entry must keep reading answers).
     */
    private readonly pauseReadingAbove?: number,
  ) {}

  push(buf: Buffer): void {
    if (this.ending) return; // nothing goes after the last frame
    this.queued.push(buf);
    this.schedule();
  }

  /** Sends what is queued, then closes the connection's sending side. */
  end(): void {
    this.ending = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const queued = this.queued;
    this.queued = [];
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (queued.length === 1) {
      this.socket.write(queued[0]!);
    } else if (queued.length > 1) {
      this.socket.cork();
      for (const buf of queued) this.socket.write(buf);
      this.socket.uncork();
    }
    if (this.ending) this.socket.end();
    this.holdBackReading();
  };

  private holdBackReading(): void {
    const limit = this.pauseReadingAbove;
    if (limit === undefined || this.socket.writableLength <= limit || this.socket.isPaused()) return;
    this.socket.pause();
    this.socket.once('drain', () => this.socket.resume());
  }
}
