import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';

/**
 * Gateway mode (CACHE_ORIGIN) as a reverse proxy on a 3-node ring: what the origin receives
 * and what clients get back, entering at every node so that requests reach owners both
 * locally and over the peer channel. Each test names the RFC section it checks.
 */
const RING = { protocol: 'chord' as const, degree: 2, idBits: 66, successors: 8 };
const FILE = '0123456789abcdef';
/** Over CACHE_MAX_OBJECT_MB below: never stored, so its ranges are the origin's. */
const BIG = Buffer.alloc(40 * 1024, 'b');

interface Seen {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The interim (1xx) responses before it. */
  readonly interim: readonly { status: number; link?: string }[];
}

/** node:http, which sends hop-by-hop fields as given (undici refuses a Connection field). */
function send(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    // A body gets its Content-Length: node:http sends a DELETE's or OPTIONS' body without framing otherwise.
    const length = options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) };
    const req = httpRequest({ host: hostname, port, path, method: options.method ?? 'GET', headers: { ...options.headers, ...length } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString(), interim }));
      res.on('error', reject);
    });
    const interim: { status: number; link?: string }[] = [];
    req.on('information', (info) => interim.push({ status: info.statusCode, link: info.headers.link as string | undefined }));
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('gateway - a reverse proxy of its origin', () => {
  const group = new ProcessGroup();
  let origin: TestServer;
  let nodes: TestNode[] = [];
  /** The last request the origin received for each path (with query). */
  const seen = new Map<string, Seen>();
  const hits = new Map<string, number>();
  const versions = new Map<string, number>();

  function originHandler(req: IncomingMessage, res: ServerResponse): void {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const path = req.url!;
      const pathname = path.split('?')[0]!;
      const body = Buffer.concat(parts).toString();
      seen.set(path, { method: req.method!, headers: req.headers, body });
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const cached = { 'content-type': 'application/json', 'cache-control': 'max-age=600' };
      if (pathname.startsWith('/vary/')) {
        res.writeHead(200, { ...cached, vary: 'X-Api-Version' }).end(`version ${req.headers['x-api-version'] ?? 'none'}`);
      } else if (pathname.startsWith('/posts/')) {
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' }).end(`fetched ${pathname}`);
        } else {
          // ?cc= is the Cache-Control of the answer, ?cl= its Content-Location (default: the target itself).
          const query = new URL(path, 'http://origin').searchParams;
          const headers: Record<string, string> = { 'content-type': 'text/plain', 'content-location': query.get('cl') ?? path };
          if (query.get('cc')) headers['cache-control'] = query.get('cc')!;
          res.writeHead(200, headers).end(`posted ${body}`);
        }
      } else if (pathname.startsWith('/hints/')) {
        res.writeProcessing();
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        res.writeHead(req.method === 'GET' ? 200 : 201, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' }).end('hinted');
      } else if (pathname === '/file') {
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600', etag: '"f1"' }).end(FILE);
      } else if (pathname === '/big') {
        const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
        if (!range) res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' }).end(BIG);
        else res.writeHead(206, { 'content-range': `bytes ${range[1]}-${range[2]}/${BIG.length}`, 'cache-control': 'max-age=600' }).end(BIG.subarray(Number(range[1]), Number(range[2]) + 1));
      } else if (pathname.startsWith('/items/')) {
        if (req.method === 'GET') {
          res.writeHead(200, cached).end(`${pathname} v${versions.get(pathname) ?? 0}`);
        } else if (req.headers['x-fail']) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end('failed');
        } else {
          versions.set(pathname, (versions.get(pathname) ?? 0) + 1);
          // The write changed two other resources, named absolutely and relatively, and one elsewhere.
          res.writeHead(201, { location: '/items/b', 'content-location': `${origin.url}/items/c`, link: '<http://elsewhere.test/items/d>' }).end('created');
          for (const other of ['/items/b', '/items/c']) versions.set(other, (versions.get(other) ?? 0) + 1);
        }
      } else {
        res.writeHead(200, { ...cached, via: '1.0 origin-side' }).end(JSON.stringify({ method: req.method, body }));
      }
    });
  }

  after(async () => {
    await group.stopAll();
    await origin?.close();
  });
  before(async () => {
    origin = await startHttpServer(originHandler);
    nodes = await startNodes(group, 3, { ...RING, env: { CACHE_ORIGIN: origin.url, CACHE_ORIGIN_ALLOWLIST: '', CACHE_MAX_OBJECT_MB: '0.03' } });
    await waitForStableRing(nodes, RING);
    await waitFor('nodes READY', async () => (await Promise.all(nodes.map((n) => fetch(`${n.http}/health`)))).every((r) => r.ok));
  });

  it('RFC 9110 §7.6.1: every end-to-end request field reaches the origin, through whichever node owns the path; hop-by-hop ones do not', async () => {
    const xCaches = new Set<string>();
    for (const [i, node] of nodes.entries()) {
      for (let j = 0; j < 4; j++) {
        const path = `/echo/e2e-${i}-${j}`;
        const res = await send(node.http, path, {
          headers: {
            'x-request-id': `req-${i}-${j}`,
            'accept-charset': 'utf-8',
            dnt: '1',
            'x-api-key': 'key-1',
            authorization: 'Bearer operator-token',
            cookie: 'session=abc',
            'if-none-match': '"nothing"',
            connection: 'keep-alive, X-Hop-Only',
            'x-hop-only': 'must not pass',
            'keep-alive': 'timeout=5',
          },
        });
        assert.equal(res.status, 200, res.body);
        xCaches.add(String(res.headers['x-cache']));
        const got = seen.get(path)!.headers;
        assert.equal(got['x-request-id'], `req-${i}-${j}`);
        assert.equal(got['accept-charset'], 'utf-8');
        assert.equal(got['dnt'], '1');
        assert.equal(got['x-api-key'], 'key-1');
        assert.equal(got['authorization'], 'Bearer operator-token', 'credentials go to the operator\'s own origin');
        assert.equal(got['cookie'], 'session=abc');
        assert.equal(got['x-hop-only'], undefined, 'a field that Connection names is for this hop only');
        assert.equal(got['keep-alive'], undefined);
        assert.equal(got['if-none-match'], undefined, 'the cache answers the client\'s conditionals itself');
      }
    }
    assert.ok(xCaches.has('MISS-DHT') && xCaches.has('MISS-ORIGIN'), `both a local and a forwarded owner fetched: ${[...xCaches]}`);
  });

  it('RFC 9110 §7.6.3: Via and X-Forwarded-For / -Proto go to the origin, appended to the client\'s; answers carry Via', async () => {
    for (const [i, node] of nodes.entries()) {
      const path = `/echo/via-${i}`;
      const miss = await send(node.http, path, { headers: { via: '1.1 client-proxy', 'x-forwarded-for': '10.1.2.3' } });
      const got = seen.get(path)!.headers;
      assert.equal(got['via'], '1.1 client-proxy, 1.1 koorde');
      assert.equal(got['x-forwarded-for'], '10.1.2.3, 127.0.0.1');
      assert.equal(got['x-forwarded-proto'], 'http');
      assert.match(String(miss.headers['via']), /^1\.0 origin-side, 1\.1 koorde$/);
      const hit = await send(nodes[(i + 1) % nodes.length]!.http, path);
      assert.match(String(hit.headers['x-cache']), /^HIT/);
      assert.match(String(hit.headers['via']), /1\.1 koorde$/, 'a stored answer is forwarded by this cache too');
    }
  });

  it('RFC 9111 §4.1: Vary on any request field selects among the stored responses', async () => {
    const path = '/vary/api';
    const v1 = await send(nodes[0]!.http, path, { headers: { 'x-api-version': '1' } });
    const v2 = await send(nodes[1]!.http, path, { headers: { 'x-api-version': '2' } });
    assert.deepEqual([v1.body, v2.body], ['version 1', 'version 2']);
    for (const node of nodes) {
      const again = await send(node.http, path, { headers: { 'x-api-version': '2' } });
      assert.equal(again.body, 'version 2');
      assert.match(String(again.headers['x-cache']), /^HIT/);
    }
    assert.equal(hits.get(path), 2, 'one origin fetch per variant');
  });

  it('RFC 9110 §9.3: every method and its body go to the origin, and none is stored (RFC 9111 §3)', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'POST']) {
      const path = `/echo/method-${method}`;
      for (const node of nodes) {
        const res = await send(node.http, path, { method, headers: { 'content-type': 'text/plain', 'x-request-id': method }, body: `body of ${method}` });
        assert.equal(res.status, 200, `${method}: ${res.body}`);
        assert.deepEqual(JSON.parse(res.body), { method, body: `body of ${method}` });
        assert.equal(seen.get(path)!.headers['x-request-id'], method);
        assert.match(String(res.headers['via']), /1\.1 koorde$/);
        assert.equal(res.headers['cache-status'], 'koorde; fwd=method; fwd-status=200', 'RFC 9211: forwarded for its method');
      }
      assert.equal(hits.get(path), nodes.length, `every ${method} reached the origin`);
    }
  });

  it('RFC 9111 §4.4: a successful unsafe method invalidates its target and the same-origin Location and Content-Location', async () => {
    for (const p of ['/items/a', '/items/b', '/items/c']) {
      await send(nodes[0]!.http, p);
      assert.match(String((await send(nodes[1]!.http, p)).headers['x-cache']), /^HIT/, `${p} is stored`);
    }
    const failed = await send(nodes[2]!.http, '/items/a', { method: 'POST', headers: { 'x-fail': '1' }, body: 'x' });
    assert.equal(failed.status, 500);
    assert.match(String((await send(nodes[1]!.http, '/items/a')).headers['x-cache']), /^HIT/, 'a failed write invalidates nothing');
    const created = await send(nodes[2]!.http, '/items/a', { method: 'POST', body: 'new' });
    assert.equal(created.status, 201);
    for (const p of ['/items/a', '/items/b', '/items/c']) {
      const after = await send(nodes[1]!.http, p);
      assert.match(String(after.headers['x-cache']), /^MISS/, `${p} was invalidated`);
      assert.equal(after.body, `${p} v1`);
    }
  });

  it('RFC 9111 §4 / RFC 9110 §9.3.3: a POST\'s fresh answer whose Content-Location is its target answers later GETs', async () => {
    for (const [i, node] of nodes.entries()) {
      const target = `/posts/kept-${i}?cc=max-age%3D600`;
      const posted = await send(node.http, target, { method: 'POST', body: `p${i}` });
      assert.deepEqual([posted.status, posted.body], [200, `posted p${i}`]);
      for (const reader of nodes) {
        const got = await send(reader.http, target);
        assert.equal(got.body, `posted p${i}`, 'the POST\'s answer, not a fetch');
        assert.match(String(got.headers['x-cache']), /^HIT/);
      }
      assert.equal(hits.get(target), 1, 'only the POST reached the origin');
    }
    const notKept = {
      'without explicit freshness': '/posts/no-freshness',
      'naming another URL': `/posts/elsewhere?cc=max-age%3D600&cl=${encodeURIComponent('/posts/other')}`,
      'with no-store': '/posts/no-store?cc=no-store%2C%20max-age%3D600',
    };
    for (const [why, target] of Object.entries(notKept)) {
      await send(nodes[0]!.http, target, { method: 'POST', body: 'x' });
      const got = await send(nodes[1]!.http, target);
      assert.match(String(got.headers['x-cache']), /^MISS/, why);
      assert.equal(got.body, `fetched ${target.split('?')[0]}`, why);
    }
  });

  it('RFC 9110 §14.2: a Range is answered from the whole stored 200 (206, 416, If-Range), on every node', async () => {
    const first = await send(nodes[0]!.http, '/file', { headers: { range: 'bytes=2-5' } });
    assert.deepEqual([first.status, first.headers['content-range'], first.body], [206, 'bytes 2-5/16', '2345']);
    assert.equal(seen.get('/file')!.headers.range, undefined, 'the cache fetched the whole response to store it');
    for (const node of nodes) {
      const part = await send(node.http, '/file', { headers: { range: 'bytes=-3' } });
      assert.deepEqual([part.status, part.headers['content-range'], part.body, part.headers['content-length']], [206, 'bytes 13-15/16', 'def', '3']);
      assert.match(String(part.headers['x-cache']), /^HIT/);
      const none = await send(node.http, '/file', { headers: { range: 'bytes=16-' } });
      assert.deepEqual([none.status, none.headers['content-range']], [416, 'bytes */16']);
      const changed = await send(node.http, '/file', { headers: { range: 'bytes=0-1', 'if-range': '"f0"' } });
      assert.deepEqual([changed.status, changed.body], [200, FILE], 'If-Range names another version: the whole current one');
      const same = await send(node.http, '/file', { headers: { range: 'bytes=0-1', 'if-range': '"f1"' } });
      assert.deepEqual([same.status, same.body], [206, '01']);
      const several = await send(node.http, '/file', { headers: { range: 'bytes=0-1,4-5' } });
      assert.deepEqual([several.status, several.body], [200, FILE]);
    }
    assert.equal(hits.get('/file'), 1);
  });

  it('RFC 9110 §14.2: a range of an object too large to store is the origin\'s 206, passed through and not stored', async () => {
    for (const node of nodes) {
      const part = await send(node.http, '/big', { headers: { range: 'bytes=10-19' } });
      assert.deepEqual([part.status, part.headers['content-range'], part.body], [206, `bytes 10-19/${BIG.length}`, 'bbbbbbbbbb']);
      assert.equal(part.headers['x-cache'], undefined, 'not a cache answer');
      assert.equal(part.headers['cache-status'], 'koorde; fwd=uri-miss; fwd-status=206');
    }
    assert.equal(seen.get('/big')!.headers.range, 'bytes=10-19');
  });

  it('RFC 9110 §15.2: the origin\'s 102 and 103 reach the client, through whichever node owns the path, and are never stored', async () => {
    const hints = [{ status: 102, link: undefined }, { status: 103, link: '</style.css>; rel=preload; as=style' }];
    const xCaches = new Set<string>();
    for (const [i, node] of nodes.entries()) {
      for (let j = 0; j < 4; j++) {
        const path = `/hints/h-${i}-${j}`;
        const miss = await send(node.http, path);
        assert.deepEqual([miss.status, miss.body], [200, 'hinted']);
        assert.deepEqual(miss.interim, hints, `${miss.headers['x-cache']}: the interim responses came first`);
        xCaches.add(String(miss.headers['x-cache']));
        const hit = await send(nodes[(i + 1) % nodes.length]!.http, path);
        assert.match(String(hit.headers['x-cache']), /^HIT/);
        assert.deepEqual(hit.interim, [], 'a stored answer replays no interim response');
      }
    }
    assert.ok(xCaches.has('MISS-DHT') && xCaches.has('MISS-ORIGIN'), `both a local and a forwarded owner fetched: ${[...xCaches]}`);
    const post = await send(nodes[1]!.http, '/hints/post', { method: 'POST', body: 'x' });
    assert.deepEqual([post.status, post.interim], [201, hints], 'passed-through methods get them too');
  });

  it('a request with more header fields than the peer channel carries is refused with a clear 400', async () => {
    const headers = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`x-f${i}`, 'v']));
    const res = await send(nodes[0]!.http, '/echo/too-many', { headers });
    assert.equal(res.status, 400);
    assert.match(JSON.parse(res.body).message, /at most 100 header fields, not 150/);
    assert.equal(hits.get('/echo/too-many'), undefined);
  });
});
