import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TOKEN } from '../cache/origin/headers.js';

/** Largest body it will make (per request or by default), so a typo cannot exhaust memory. */
export const MAX_SYNTHETIC_SIZE = 256 * 1024 * 1024;

export interface SyntheticOriginInit {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 9000 */
  readonly port?: number;
  /** Body size in bytes. @default 1024 */
  readonly size?: number;
  /** @default 'public, max-age=300' */
  readonly cacheControl?: string;
  /** Added before every /obj answer. @default 0 */
  readonly latencyMs?: number;
}

export interface OriginStats {
  /** Requests to anything but /stats and /admin/*, including conditional ones. */
  total: number;
  /** Per path with query, as requested: `/obj/1?cc=no-store`. */
  by_path: Record<string, number>;
  by_method: Record<string, number>;
  by_status: Record<string, number>;
}

/** The per-request knobs of an /obj URL (see `koorde-origin --help`). */
interface Overrides {
  cacheControl: string | undefined;
  expiresS: number | undefined;
  lastModifiedAgoS: number | 'none' | undefined;
  etag: boolean;
  vary: string | undefined;
  ageS: number | undefined;
  size: number;
  status: number;
  delayMs: number;
  version: number | undefined;
}

class BadRequest extends Error {}


/**
 * A deterministic origin for demos, tests and benchmarks: `/obj/<id>` always returns the same
 * bytes for the same id, size and version, with validators and freshness the query can shape,
 * and it counts what it was asked so tests can tell how often the cache went to the origin.
 */
export class SyntheticOrigin {
  readonly server: Server;
  private readonly host: string;
  private readonly port: number;
  private readonly size: number;
  private readonly cacheControl: string;
  private readonly latencyMs: number;
  /** Last-Modified of every object unless `lm=` says otherwise: an hour before start, so heuristics have something to work on. */
  private readonly lastModifiedS = Math.floor(Date.now() / 1000) - 3600;
  private readonly versions = new Map<string, number>();
  private failing = false;
  private stats: OriginStats = emptyStats();

  constructor(init: SyntheticOriginInit = {}) {
    this.host = init.host ?? '127.0.0.1';
    this.port = init.port ?? 9000;
    this.size = init.size ?? 1024;
    this.cacheControl = init.cacheControl ?? 'public, max-age=300';
    this.latencyMs = init.latencyMs ?? 0;
    this.server = createServer({ keepAlive: true }, (req, res) => this.handle(req, res));
    // Longer than the keep-alive of typical clients (undici: 4 s), so the client closes idle sockets first.
    this.server.keepAliveTimeout = 60_000;
    this.server.headersTimeout = 65_000;
  }

  /** Starts listening; resolves with the URL to print. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => resolve());
    });
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://origin');
    const method = req.method ?? 'GET';
    if (url.pathname === '/stats') return method === 'GET' ? json(res, 200, this.stats) : json(res, 405, { error: 'method_not_allowed', message: 'GET /stats' });
    if (url.pathname.startsWith('/admin/')) return this.admin(url.pathname, method, res);
    this.stats.total++;
    bump(this.stats.by_path, req.url ?? '/');
    bump(this.stats.by_method, method);
    res.on('finish', () => bump(this.stats.by_status, String(res.statusCode)));
    const id = url.pathname.startsWith('/obj/') ? safeDecode(url.pathname.slice('/obj/'.length)) : '';
    if (!id) return json(res, 404, { error: 'not_found', message: `no such path ${url.pathname}; objects live at /obj/<id>` });
    let overrides: Overrides;
    try {
      overrides = this.parseOverrides(url.searchParams);
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      return json(res, 400, { error: 'bad_request', message: err.message });
    }
    const respond = () => {
      if (res.destroyed) return;
      if (this.failing) return json(res, 500, { error: 'origin_failing', message: 'failing on purpose until POST /admin/recover' });
      if (method === 'GET' || method === 'HEAD') this.object(req, res, id, overrides);
      else this.modify(req, res, id, method);
    };
    const delay = this.latencyMs + overrides.delayMs;
    if (delay > 0) setTimeout(respond, delay);
    else respond();
  }

  private object(req: IncomingMessage, res: ServerResponse, id: string, o: Overrides): void {
    const version = o.version ?? this.versions.get(id) ?? 1;
    const variant = o.vary === undefined ? undefined : [req.headers[o.vary.toLowerCase()] ?? ''].flat().join(', ');
    const digest = createHash('sha256').update(JSON.stringify([id, o.size, version, variant ?? null])).digest('hex');
    const nowS = Math.floor(Date.now() / 1000);
    const lastModifiedS = o.lastModifiedAgoS === 'none' ? undefined : o.lastModifiedAgoS === undefined ? this.lastModifiedS : nowS - o.lastModifiedAgoS;
    const headers: Record<string, string> = {};
    if (o.etag) headers['etag'] = `"${digest.slice(0, 24)}"`;
    if (lastModifiedS !== undefined) headers['last-modified'] = httpDate(lastModifiedS);
    if (o.cacheControl !== undefined) headers['cache-control'] = o.cacheControl;
    if (o.expiresS !== undefined) headers['expires'] = httpDate(nowS + o.expiresS);
    if (o.vary !== undefined) headers['vary'] = o.vary;
    if (o.ageS !== undefined) headers['age'] = String(o.ageS);
    if (o.status === 200 && notModified(req, headers['etag'], lastModifiedS)) {
      res.writeHead(304, headers).end();
      return;
    }
    const prefix = `koorde-origin /obj/${id} version ${version}${o.vary === undefined ? '' : ` ${o.vary}: ${variant}`}\n`;
    const body = Buffer.alloc(o.size, `${digest}\n`);
    body.write(prefix, 0);
    res.writeHead(o.status, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': String(o.size) });
    res.end(body);
  }

  /** Any unsafe method changes the object: its version goes up, so its ETag and body change. */
  private modify(req: IncomingMessage, res: ServerResponse, id: string, method: string): void {
    let received = 0;
    req.on('data', (chunk: Buffer) => (received += chunk.length));
    req.on('end', () => {
      const version = (this.versions.get(id) ?? 1) + 1;
      this.versions.set(id, version);
      json(res, 200, { id, method, version, received });
    });
  }

  private admin(path: string, method: string, res: ServerResponse): void {
    const actions: Record<string, () => object> = {
      '/admin/fail': () => ((this.failing = true), { failing: true }),
      '/admin/recover': () => ((this.failing = false), { failing: false }),
      '/admin/reset': () => ((this.stats = emptyStats()), { reset: true }),
    };
    const action = actions[path];
    if (!action) return json(res, 404, { error: 'not_found', message: `admin actions: ${Object.keys(actions).join(', ')}` });
    if (method !== 'POST') return json(res, 405, { error: 'method_not_allowed', message: `POST ${path}` });
    json(res, 200, action());
  }

  private parseOverrides(q: URLSearchParams): Overrides {
    const int = (name: string, min: number, max: number): number | undefined => {
      const text = q.get(name);
      if (text === null) return undefined;
      const n = Number(text);
      if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new BadRequest(`${name}=${text}: expected an integer from ${min} to ${max}`);
      return n;
    };
    const etag = q.get('etag');
    if (etag !== null && etag !== 'none') throw new BadRequest(`etag=${etag}: only etag=none is understood`);
    const vary = q.get('vary') ?? undefined;
    if (vary !== undefined && !TOKEN.test(vary)) throw new BadRequest(`vary=${vary}: expected a header name`);
    const lm = q.get('lm');
    return {
      cacheControl: q.has('cc') ? q.get('cc') || undefined : this.cacheControl,
      expiresS: int('expires', -1e9, 1e9),
      lastModifiedAgoS: lm === 'none' ? 'none' : int('lm', 0, 1e9),
      etag: etag === null,
      vary,
      ageS: int('age', 0, 1e9),
      size: int('size', 0, MAX_SYNTHETIC_SIZE) ?? this.size,
      status: int('status', 200, 599) ?? 200,
      delayMs: int('delay', 0, 600_000) ?? 0,
      version: int('version', 0, Number.MAX_SAFE_INTEGER),
    };
  }
}

/** RFC 9110 §13.1.2 and §13.1.3: If-None-Match (weak comparison) wins over If-Modified-Since. */
function notModified(req: IncomingMessage, etag: string | undefined, lastModifiedS: number | undefined): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    if (etag === undefined) return false;
    const weak = (tag: string) => tag.trim().replace(/^W\//, '');
    return inm.split(',').some((tag) => tag.trim() === '*' || weak(tag) === weak(etag));
  }
  const ims = req.headers['if-modified-since'];
  if (ims === undefined || lastModifiedS === undefined) return false;
  const since = Date.parse(ims);
  return Number.isFinite(since) && lastModifiedS <= Math.floor(since / 1000);
}

function emptyStats(): OriginStats {
  return { total: 0, by_path: {}, by_method: {}, by_status: {} };
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function json(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
  res.end(text);
}

function httpDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString();
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a stray % is part of the id, not an error
  }
}
