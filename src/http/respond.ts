import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { DhtError, ERROR_CODES, errorCode } from '../errors.js';
import type { ServedResponse } from '../cache/cache-service.js';
import { toHeaderList, type HeaderList } from '../cache/header-list.js';
import { SAFE_FIELD_VALUE, TOKEN } from '../cache/origin/headers.js';

/**
 * What an answer is written to: node:http's ServerResponse, or the cache lane's own answer
 * (lane-response.ts), which keeps only this much of it.
 */
export interface ResponseSink {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly socket: Socket | null;
  setHeader(name: string, value: string): unknown;
  /** Fields as a map, or as a list `[name, value, …]` written as it is. */
  writeHead(status: number, headers: Record<string, string | number> | string[]): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): unknown;
  /**
   * A whole answer of `fields` and then bytes that hold the rest of the head, framing fields
   * included, and the body, or part of it with the body after (a stored variant's,
   * stored-variant.ts): a sink that can write them as they are. Without it, the answer goes
   * through writeHead and end.
   */
  writePrepared?(status: number, fields: HeaderList, tail: Buffer, body?: Buffer): void;
  destroy(error?: Error): unknown;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

export function sendJson(res: ResponseSink, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...extraHeaders });
  res.end(text);
}

/** `{ error, message }` with the status the error code maps to (docs/api.md). */
export function sendError(res: ResponseSink, err: unknown): void {
  const code = errorCode(err);
  const message = err instanceof DhtError ? err.message : 'internal error';
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : undefined); // mid-body: all we can do is cut the response short
    return;
  }
  sendJson(res, ERROR_CODES[code].http, { error: code.replace(/^ERR_/, '').toLowerCase(), message });
}

/**
 * Writes a cache response, streaming its body with backpressure; HEAD and 304 send no body.
 * `extra` fields go out after the response's own. Headers go to Node as a list, which it writes
 * as it is; a fresh hit's list comes prepared, Content-Length included.
 */
export async function sendServed(res: ResponseSink, served: ServedResponse, method: string, extra: HeaderList = []): Promise<void> {
  if (served.headerList !== undefined && Buffer.isBuffer(served.body)) return sendListed(res, served, method, extra);
  const bodyless = method === 'HEAD' || served.status === 304 || served.status === 204;
  const headers = { ...served.headers };
  if (Buffer.isBuffer(served.body) && !bodyless) headers['content-length'] = String(served.body.length);
  if (served.status === 304) delete headers['content-length'];
  res.writeHead(served.status, toHeaderList(headers).concat(extra));
  if (bodyless) {
    res.end();
    if (!Buffer.isBuffer(served.body)) for await (const _ of served.body); // drain the owner's (empty) stream
    return;
  }
  if (Buffer.isBuffer(served.body)) {
    res.end(served.body);
    return;
  }
  // A streamed body is a peer's or an origin's word: more bytes than its Content-Length would
  // reach the client as the start of another response, fewer leave it waiting. Either way the
  // connection is cut instead.
  const declared = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  let written = 0;
  for await (const chunk of served.body) {
    written += chunk.length;
    if (declared !== undefined && written > declared) return void res.destroy();
    if (!(await writeChunk(res, chunk))) break; // the client left: the owner is told to stop
  }
  if (declared !== undefined && written !== declared && !res.destroyed) return void res.destroy();
  res.end();
}

/**
 * A response whose headers come as a prepared list (Content-Length included) and whose body is
 * whole; a fresh local hit's stored bytes go as they are where the sink can take them.
 */
export function sendListed(res: ResponseSink, served: ServedResponse, method: string, extra: HeaderList): void {
  const { prepared } = served;
  if (prepared !== undefined && res.writePrepared !== undefined) return res.writePrepared(served.status, [...prepared.leading, ...extra], prepared.tail, prepared.bodyAfterTail);
  const bodyless = method === 'HEAD' || served.status === 304 || served.status === 204;
  res.writeHead(served.status, [...served.headerList!, ...extra]);
  res.end(bodyless ? undefined : (served.body as Buffer));
}

/**
 * Writes one chunk of a streamed body, waiting while the client reads slowly; false once the
 * client has gone (a write to a closed response would wait for a drain that never comes).
 */
export async function writeChunk(res: ResponseSink, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return false;
  if (!res.write(chunk)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
  return !res.destroyed;
}


/**
 * Relays an origin's interim response (RFC 9110 §15.2) ahead of the final one: 102 and 103
 * Early Hints, the two node:http writes (a 103 only with a Link, as node:http requires). Not
 * to an HTTP/1.0 client, which cannot take one, and not once the final head is out. Its
 * fields are checked again here: they come from the origin, or from a peer.
 */
export function sendInterim(res: ServerResponse, status: number, headers: Record<string, string | string[]>): void {
  if (res.headersSent || res.destroyed || res.req.httpVersionMajor < 1 || (res.req.httpVersionMajor === 1 && res.req.httpVersionMinor === 0)) return;
  if (status === 102) {
    res.writeProcessing();
  } else if (status === 103) {
    const hints: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers)) if (TOKEN.test(name) && [value].flat().every((v) => SAFE_FIELD_VALUE.test(v))) hints[name] = value;
    try {
      res.writeEarlyHints(hints);
    } catch {
      // A Link node:http refuses: hints are only hints, and the final answer still comes.
    }
  }
}
