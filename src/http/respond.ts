import type { ServerResponse } from 'node:http';
import { DhtError, ERROR_CODES, errorCode } from '../errors.js';
import type { ServedResponse } from '../cache/cache-service.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...extraHeaders });
  res.end(text);
}

/** `{ error, message }` with the status the error code maps to (SPEC §4). */
export function sendError(res: ServerResponse, err: unknown): void {
  const code = errorCode(err);
  const message = err instanceof DhtError ? err.message : 'internal error';
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : undefined); // mid-body: all we can do is cut the response short
    return;
  }
  sendJson(res, ERROR_CODES[code].http, { error: code.replace(/^ERR_/, '').toLowerCase(), message });
}

/** Writes a cache response, streaming its body with backpressure; HEAD and 304 send no body. */
export async function sendServed(res: ServerResponse, served: ServedResponse, method: string): Promise<void> {
  const headers = { ...served.headers };
  const bodyless = method === 'HEAD' || served.status === 304 || served.status === 204;
  if (Buffer.isBuffer(served.body) && !bodyless) headers['content-length'] = String(served.body.length);
  if (served.status === 304) delete headers['content-length'];
  res.writeHead(served.status, headers);
  if (bodyless) {
    res.end();
    if (!Buffer.isBuffer(served.body)) for await (const _ of served.body); // drain the owner's (empty) stream
    return;
  }
  if (Buffer.isBuffer(served.body)) {
    res.end(served.body);
    return;
  }
  for await (const chunk of served.body) {
    if (res.destroyed) break;
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}
