import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { headToWire } from '../../cache/cache-wire.js';
import type { OwnerEndpoint } from '../../cache/owner-endpoint.js';
import { DhtError, ERROR_CODES, errorCode } from '../../errors.js';
import type { Logger } from '../../runtime/logger.js';
import { continueTrace } from '../../runtime/telemetry.js';
import { sendInterim } from '../../http/respond.js';
import { httpsServerOptions, type GrpcCredentials } from '../grpc/tls.js';
import { FETCH_PATH, FRAME_CONTENT_TYPE, framePrefix, MAX_HTTP_HEADER_BYTES, MAX_REQUEST_BYTES, parseFetchRequest } from './peer-wire.js';

/** Longer than the entries' pool keeps an idle connection, so the entry always closes first. */
const KEEP_ALIVE_MS = 65_000;
/** A peer that has not sent its request head by then is dropped. */
const HEADERS_TIMEOUT_MS = 10_000;

/**
 * The owner's end of the peer data channel (CACHE_PEER_PORT): forwarded requests arrive here
 * over HTTP/1.1 keep-alive and are answered by the owner endpoint. With TLS settings on it is
 * HTTPS that admits only clients with a certificate from the cluster CA.
 */
export function createPeerServer(endpoint: OwnerEndpoint, credentials: GrpcCredentials, logger: Logger): Server {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (!(err instanceof DhtError)) logger.error({ err }, 'peer request failed');
      sendPeerError(res, err);
    });
  };
  const options = { maxHeaderSize: MAX_HTTP_HEADER_BYTES, keepAliveTimeout: KEEP_ALIVE_MS, headersTimeout: HEADERS_TIMEOUT_MS };
  const server: Server = credentials.material
    ? (createHttpsServer({ ...httpsServerOptions(credentials.material), ...options }, onRequest) as unknown as Server)
    : createHttpServer(options, onRequest);
  server.keepAliveTimeout = KEEP_ALIVE_MS;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url !== FETCH_PATH) return sendPeerError(res, new DhtError('ERR_NOT_FOUND', `no such peer endpoint; forwarded requests go to POST ${FETCH_PATH}`));
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendPeerError(res, new DhtError('ERR_INVALID_ARGUMENT', `${FETCH_PATH} takes POST`), 405);
    }
    const { req: forwarded, fromRouteCache, interim } = parseFetchRequest(await readBody(req));
    const traceContext = typeof req.headers.traceparent === 'string' ? { traceparent: req.headers.traceparent, tracestate: String(req.headers.tracestate ?? '') } : undefined;
    // The origin's interim responses go on to the entry as this answer's own (102, 103), when it relays them.
    const relayed = interim ? { ...forwarded, onInterim: (status: number, headers: Record<string, string | string[]>) => sendInterim(res, status, headers) } : forwarded;
    const serve = () => endpoint.serve(relayed, { fromRouteCache, signal: entryGone(res) });
    const response = await (traceContext ? continueTrace(traceContext, serve) : serve());
    const prefix = framePrefix(headToWire(response));
    res.writeHead(200, { 'content-type': FRAME_CONTENT_TYPE, 'content-length': prefix.length + response.body.length });
    res.write(prefix);
    res.end(response.body);
  }

  return server;
}

/** The request body, refused past MAX_REQUEST_BYTES before it is buffered. */
async function readBody(req: IncomingMessage): Promise<string> {
  const tooLarge = () => new DhtError('ERR_TOO_LARGE', `a forwarded request is at most ${MAX_REQUEST_BYTES} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) throw tooLarge();
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_REQUEST_BYTES) throw tooLarge();
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Aborts when the entry closed the connection before the answer was sent in full. */
function entryGone(res: ServerResponse): AbortSignal {
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort(new DhtError('ERR_ABORTED', 'the entry node went away'));
  });
  return gone.signal;
}

/** `{ error: <ERR_ code>, message }`: the entry maps the code back to the same DhtError. */
function sendPeerError(res: ServerResponse, err: unknown, status?: number): void {
  if (res.headersSent) {
    res.destroy(); // mid-body: cutting the response short is all that is left
    return;
  }
  const code = errorCode(err);
  const text = JSON.stringify({ error: code, message: err instanceof DhtError ? err.message : 'internal error' });
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  // A refused request body may still be arriving: close rather than read the rest of it.
  if (code === 'ERR_TOO_LARGE') headers.connection = 'close';
  res.writeHead(status ?? ERROR_CODES[code].http, headers);
  res.end(text);
}
