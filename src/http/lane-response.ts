import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { HeaderList } from '../cache/header-list.js';
import { isHopByHop, SAFE_FIELD_VALUE, TOKEN } from '../cache/origin/headers.js';
import type { ResponseSink } from './respond.js';

/**
 * One answer of the cache lane, written straight to the client's socket: the part of
 * node:http's ServerResponse that respond.ts uses, with its framing (Content-Length, or chunks
 * when the length is unknown; no body for HEAD, 1xx, 204 and 304), its Date and keep-alive
 * fields, and its refusal of a field that could split the response.
 */
export class LaneResponse implements ResponseSink {
  #staged?: Record<string, string>;
  #headed = false;
  /** The head, until the first write sends it. */
  #head?: string;
  #bodyless: boolean;
  #chunked = false;
  #done = false;

  constructor(
    readonly socket: Socket,
    head: boolean,
    /** `Connection: close`, and the connection ends after this answer. */
    private readonly close: boolean,
    private readonly keepAliveSeconds: number,
    /** Called once the whole answer is written (or the socket is gone). */
    private readonly finished: (close: boolean) => void,
  ) {
    this.#bodyless = head;
  }

  get headersSent(): boolean {
    return this.#headed;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** Fields for the next writeHead, which adds them after its own (the ones it names itself win). */
  setHeader(name: string, value: string): this {
    (this.#staged ??= {})[name.toLowerCase()] = value;
    return this;
  }

  writeHead(status: number, headers: Record<string, string | number> | HeaderList): this {
    const list = Array.isArray(headers) ? (headers as HeaderList) : Object.entries(headers).flatMap(([name, value]) => [name, String(value)]);
    const named: Named = { date: false, length: false };
    let text = this.#headLines(status, list, named);
    if (!named.date) text += `date: ${httpDate()}\r\n`;
    text += this.#connectionLines();
    if (status < 200 || status === 204 || status === 304) this.#bodyless = true;
    this.#chunked = !this.#bodyless && !named.length;
    if (this.#chunked) text += 'transfer-encoding: chunked\r\n';
    this.#head = text + '\r\n';
    this.#headed = true;
    return this;
  }

  /**
   * The whole answer: its head's first lines, then `tail`, which ends the head (its Date and
   * Content-Length among it) and holds the body or is followed by it.
   */
  writePrepared(status: number, fields: HeaderList, tail: Buffer, body?: Buffer): void {
    if (this.#done) return;
    const text = this.#headLines(status, fields, { date: false, length: false }) + this.#connectionLines();
    this.#headed = this.#done = true;
    if (!this.socket.destroyed) {
      this.socket.cork();
      this.socket.write(text, 'latin1');
      this.socket.write(tail);
      if (body) this.socket.write(body);
      this.socket.uncork();
    }
    this.finished(this.close);
  }

  write(chunk: Buffer): boolean {
    if (this.#done || this.socket.destroyed) return false;
    if (this.#bodyless || chunk.length === 0) return true;
    this.socket.cork();
    this.#sendHead();
    const flushed = this.#writeBody(chunk);
    this.socket.uncork();
    return flushed;
  }

  end(chunk?: Buffer | string): this {
    if (this.#done) return this;
    if (!this.#headed) this.writeHead(200, []);
    this.#done = true;
    if (!this.socket.destroyed) {
      this.socket.cork();
      this.#sendHead();
      const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (body && body.length > 0 && !this.#bodyless) this.#writeBody(body);
      if (this.#chunked) this.socket.write('0\r\n\r\n', 'latin1');
      this.socket.uncork();
    }
    this.finished(this.close);
    return this;
  }

  /** Cuts the answer short: the client sees the connection close. */
  destroy(): void {
    this.socket.destroy();
    if (!this.#done) {
      this.#done = true;
      this.finished(true);
    }
  }

  on(event: 'drain' | 'close', listener: () => void): this {
    this.socket.on(event, listener);
    return this;
  }

  off(event: 'drain' | 'close', listener: () => void): this {
    this.socket.off(event, listener);
    return this;
  }

  /** The status line, and the fields given and staged. */
  #headLines(status: number, list: HeaderList, named: Named): string {
    const text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n` + fieldLines(list, named);
    return this.#staged ? text + fieldLines(withoutNamed(this.#staged, list), named) : text;
  }

  #connectionLines(): string {
    return this.close ? 'connection: close\r\n' : `connection: keep-alive\r\nkeep-alive: timeout=${this.keepAliveSeconds}\r\n`;
  }

  #sendHead(): void {
    if (this.#head === undefined) return;
    this.socket.write(this.#head, 'latin1');
    this.#head = undefined;
  }

  /** Body bytes, framed as a chunk when the length was not given. */
  #writeBody(chunk: Buffer): boolean {
    if (!this.#chunked) return this.socket.write(chunk);
    this.socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    this.socket.write(chunk);
    return this.socket.write('\r\n', 'latin1');
  }
}

/** Which of the fields the lane would otherwise add a list already has. */
interface Named {
  date: boolean;
  length: boolean;
}

/** The fields as head lines, checked as node:http checks them. */
function fieldLines(list: HeaderList, named: Named): string {
  let text = '';
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    if (!TOKEN.test(name)) throw new TypeError(`invalid header field name "${name.slice(0, 100)}"`);
    if (!SAFE_FIELD_VALUE.test(value)) throw new TypeError(`invalid value of header field "${name}"`);
    const lower = name.toLowerCase();
    if (lower === 'date') named.date = true;
    else if (lower === 'content-length') named.length = true;
    // The lane frames the message and manages the connection itself.
    else if (isHopByHop(lower)) continue;
    text += `${name}: ${value}\r\n`;
  }
  return text;
}

/** The staged fields that `list` does not name (a field writeHead is given wins, as in node:http). */
function withoutNamed(staged: Record<string, string>, list: HeaderList): string[] {
  const given = new Set(list.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase()));
  return Object.entries(staged)
    .filter(([name]) => !given.has(name))
    .flat();
}

let dateSecond = -1;
let dateText = '';

/** The Date field's value (RFC 9110 §6.6.1), made once a second. */
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}
