import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { OriginPolicy } from '../../src/cache/origin/address-policy.js';
import { OriginClient, originRequestHeaders, stripHopByHop, type OriginClientInit } from '../../src/cache/origin/origin-client.js';
import { FetchLimiter } from '../../src/cache/origin/fetch-limiter.js';
import { wallClock } from '../../src/runtime/clock.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { freePorts } from '../helpers/processes.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';

// Every server here listens on 127.0.0.1 or 127.0.0.2, and the fake DNS below only ever
// answers with those: no request in this file can leave the machine.
const FAKE_DNS: Record<string, string> = { localhost: '127.0.0.1', 'origin.test': '127.0.0.1', 'rebind.test': '127.0.0.1', 'other.test': '127.0.0.2' };
/** Names the fake DNS was asked: proof that a lookup went to it and not to the system resolver. */
const askedNames: string[] = [];
const fakeLookup: LookupFunction = (hostname, options, callback) => {
  askedNames.push(hostname);
  const address = FAKE_DNS[hostname.toLowerCase()];
  setImmediate(() => {
    if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
    if (options.all) callback(null, [{ address, family: 4 }]);
    else callback(null, address, 4);
  });
};

/** How a response that the client abandons ended on the server's side. */
interface Outcome {
  finished: boolean;
  bytes: number;
}

describe('origin - OriginClient against loopback servers', () => {
  let a: TestServer; // 127.0.0.1: the allow-listed origin
  let b: TestServer; // 127.0.0.2: an internal address nobody allow-listed
  const outcomes = new Map<string, Promise<Outcome>>();
  let releasePost: () => void = () => undefined;
  const clients: OriginClient[] = [];
  const client = (init: Partial<OriginClientInit> & { allow?: string[] } = {}) => {
    const c = new OriginClient({ policy: new OriginPolicy(init.allow ?? ['127.0.0.1', 'origin.test']), lookup: fakeLookup, maxBodyBytes: 64 * 1024, ...init });
    clients.push(c);
    return c;
  };
  const get = (url: string, extra: Partial<Parameters<OriginClient['fetch']>[0]> = {}) => ({ url: new URL(url), method: 'GET' as const, headers: {}, ...extra });

  const track = (name: string, res: ServerResponse) => {
    let bytes = 0;
    const write = res.write.bind(res);
    res.write = ((chunk: Buffer, ...rest: never[]) => {
      bytes += chunk.length;
      return write(chunk, ...rest);
    }) as typeof res.write;
    outcomes.set(name, new Promise((resolve) => res.on('close', () => resolve({ finished: res.writableFinished, bytes }))));
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => void> = {
    '/hello': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' }).end('hello'),
    '/echo-headers': (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers)),
    '/redirect': (_req, res, url) => res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to')! }).end('moved'),
    '/loop': (_req, res, url) => res.writeHead(302, { location: `/loop?n=${Number(url.searchParams.get('n') ?? 0) + 1}` }).end(),
    '/method': (req, res) => res.end(req.method === 'HEAD' ? undefined : `method ${req.method}`),
    '/chunked': (_req, res) => {
      track('chunked', res);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }); // no Content-Length: chunked
      const chunk = Buffer.alloc(16 * 1024, 7);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    },
    '/declared-large': (_req, res) => {
      track('declared-large', res);
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.flushHeaders(); // a HEAD writes no body, which would otherwise hold the headers back
      res.write(Buffer.alloc(1024));
    },
    '/no-headers': () => undefined,
    '/trickle': (_req, res) => {
      // A byte every 20 ms, never pausing long enough for the body timeout, never ending.
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(timer));
    },
    '/stall-body': (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write(Buffer.alloc(10));
    },
    '/hints': (_req, res) => {
      res.writeProcessing();
      res.writeEarlyHints({ link: '</a.css>; rel=preload', 'x-hint': 'yes' });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('final');
    },
    '/hop': (_req, res) =>
      res
        .writeHead(200, { connection: 'keep-alive, x-hop-info', 'keep-alive': 'timeout=5', 'x-hop-info': 'secret', 'proxy-authenticate': 'Basic', 'x-end': 'kept' })
        .end('ok'),
    '/upload': (req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', connection: 'x-private', 'x-private': '1', 'x-seen': JSON.stringify(req.headers) });
        res.write(JSON.stringify({ bytes, sha256: hash.digest('hex') }) + '\n');
        // The rest comes only once the test has read the first part: the response must stream.
        releasePost = () => res.end('done\n');
      });
    },
  };

  before(async () => {
    a = await startHttpServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const route = routes[url.pathname];
      if (route) route(req, res, url);
      else res.writeHead(404).end();
    });
    b = await startHttpServer((_req, res) => res.end('internal secret'), '127.0.0.2');
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all([a?.close(), b?.close()]);
  });

  const requestsTo = (server: TestServer, path: string) => server.requests.filter((r) => r.url!.startsWith(path)).length;

  it('refuses a loopback origin that is not allow-listed, before any request reaches it', async () => {
    const strict = client({ allow: [] });
    for (const host of ['127.0.0.1', '2130706433', '0x7f000001', '0177.0.0.1', '127.1', '[::ffff:127.0.0.1]']) {
      await assert.rejects(strict.fetch(get(`http://${host}:${a.port}/hello?${host}`)), { code: 'ERR_ORIGIN_FORBIDDEN' }, host);
    }
    // Host names are checked after DNS, at connect time; the client is not told the address, the log is.
    const logged: string[] = [];
    const logger = { ...silentLogger, warn: (obj: object) => void logged.push(JSON.stringify(obj)) };
    await assert.rejects(client({ allow: [], logger }).fetch(get(`http://rebind.test:${a.port}/hello?rebind`)), (err: Error & { code: string }) => {
      assert.equal(err.code, 'ERR_ORIGIN_FORBIDDEN');
      assert.match(err.message, /origin host "rebind\.test" resolves to an internal address/);
      assert.doesNotMatch(err.message, /127\.0\.0\.1/);
      return true;
    });
    assert.match(logged.join('\n'), /rebind\.test\\" resolved to 127\.0\.0\.1, a loopback address/);
    await assert.rejects(strict.fetch(get(`http://localhost:${a.port}/hello?localhost`)), { code: 'ERR_ORIGIN_FORBIDDEN' });
    assert.equal(requestsTo(a, '/hello'), 0, 'no request reached the server');
  });

  it('fetches an allow-listed origin, by address or by host name', async () => {
    const c = client();
    const byIp = await c.fetch(get(`${a.url}/hello`));
    assert.equal(byIp.status, 200);
    assert.equal(byIp.body.toString(), 'hello');
    assert.equal(byIp.headers['cache-control'], 'max-age=60');
    assert.equal(byIp.url, `${a.url}/hello`);
    const byName = await c.fetch(get(`http://ORIGIN.test:${a.port}/hello`));
    assert.equal(byName.body.toString(), 'hello');
    const head = await c.fetch(get(`${a.url}/method`, { method: 'HEAD' }));
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  it('re-checks every redirect: an allow-listed origin cannot send the fetch to an address that is not', async () => {
    const c = client();
    const target = encodeURIComponent(`${b.url}/metadata`);
    await assert.rejects(c.fetch(get(`${a.url}/redirect?to=${target}`)), /127\.0\.0\.2 is a loopback address/);
    await assert.rejects(c.fetch(get(`${a.url}/redirect?status=307&to=${encodeURIComponent(`http://other.test:${b.port}/`)}`)), { code: 'ERR_ORIGIN_FORBIDDEN' });
    await assert.rejects(c.fetch(get(`${a.url}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`)), { code: 'ERR_ORIGIN_FORBIDDEN' });
    assert.equal(b.requests.length, 0, 'the internal server saw nothing');
  });

  it('follows relative redirects of every kind and reports the final URL; 303 turns GET into GET and keeps HEAD', async () => {
    const c = client();
    for (const status of [301, 302, 303, 307, 308]) {
      const res = await c.fetch(get(`${a.url}/redirect?status=${status}&to=/method`));
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'method GET');
      assert.equal(res.url, `${a.url}/method`);
    }
    const head = await c.fetch(get(`${a.url}/redirect?status=303&to=/method`, { method: 'HEAD' }));
    assert.equal(head.status, 200);
    const handedBack = await c.fetch(get(`${a.url}/redirect?to=/method`, { maxRedirects: 0 }));
    assert.equal(handedBack.status, 302);
    assert.equal(handedBack.headers['location'], '/method');
  });

  it('gives up after maxRedirects', async () => {
    const c = client({ maxRedirects: 2 });
    const before = requestsTo(a, '/loop');
    await assert.rejects(c.fetch(get(`${a.url}/loop`)), { code: 'ERR_ORIGIN_FAILED', message: /redirected more than 2 times/ });
    assert.equal(requestsTo(a, '/loop') - before, 3);
  });

  it('aborts a chunked body as soon as it exceeds maxBodyBytes', async () => {
    await assert.rejects(client().fetch(get(`${a.url}/chunked`)), { code: 'ERR_TOO_LARGE', message: /more than 65536 bytes/ });
    const outcome = await outcomes.get('chunked')!;
    assert.equal(outcome.finished, false, 'the connection was closed mid-body');
    assert.ok(outcome.bytes < 16 * 1024 * 1024, `server wrote ${outcome.bytes} bytes before the close`);
  });

  it('refuses a body whose Content-Length is over the limit without reading it', async () => {
    await assert.rejects(client().fetch(get(`${a.url}/declared-large`)), { code: 'ERR_TOO_LARGE', message: /Content-Length 10485760/ });
    assert.equal((await outcomes.get('declared-large')!).finished, false);
    await assert.rejects(client().fetch(get(`${a.url}/declared-large`, { method: 'HEAD' })), { code: 'ERR_TOO_LARGE' }, 'HEAD as the GET would be');
  });

  it('keeps the size limit for the gateway origin too', async () => {
    await assert.rejects(client({ allow: [], gatewayOrigin: new URL(a.url) }).fetch(get(`${a.url}/chunked`)), { code: 'ERR_TOO_LARGE' });
  });

  it('times out waiting for headers and for a stalled body', async () => {
    const c = client({ headersTimeoutMs: 150, bodyTimeoutMs: 150 });
    await assert.rejects(c.fetch(get(`${a.url}/no-headers`)), { code: 'ERR_ORIGIN_TIMEOUT', message: /no response headers within 150 ms/ });
    await assert.rejects(c.fetch(get(`${a.url}/stall-body`)), { code: 'ERR_ORIGIN_TIMEOUT', message: /paused for more than 150 ms/ });
  });

  it('gives a whole fetch a deadline, so a trickling body cannot hold it forever', async () => {
    const c = client({ bodyTimeoutMs: 10_000, totalTimeoutMs: 300 });
    await assert.rejects(c.fetch(get(`${a.url}/trickle`)), { code: 'ERR_ORIGIN_TIMEOUT', message: /did not send the whole response within 300 ms/ });
  });

  it('refuses with ERR_OVERLOADED when its limiter has no slot and no queue left', async () => {
    const limiter = new FetchLimiter(wallClock, { maxConcurrent: 1, maxPerHost: 1, maxQueued: 0, queueTimeoutMs: 1000 });
    const c = client({ limiter, headersTimeoutMs: 60_000 });
    const controller = new AbortController();
    const slow = c.fetch(get(`${a.url}/no-headers`, { signal: controller.signal }));
    slow.catch(() => undefined);
    const before = requestsTo(a, '/hello');
    await assert.rejects(c.fetch(get(`${a.url}/hello?overloaded`)), { code: 'ERR_OVERLOADED' });
    assert.equal(requestsTo(a, '/hello'), before, 'the refused request never reached the origin');
    controller.abort();
    await assert.rejects(slow, { code: 'ERR_ABORTED' });
    assert.equal((await c.fetch(get(`${a.url}/hello?after`))).status, 200, 'the slot is free again');
  });

  it('reports a refused connection and an unknown host as origin failures', async () => {
    const [port] = await freePorts(1);
    await assert.rejects(client().fetch(get(`http://127.0.0.1:${port}/`)), { code: 'ERR_ORIGIN_FAILED', message: /refused the connection/ });
    await assert.rejects(client().fetch(get('http://nowhere.test/')), { code: 'ERR_ORIGIN_FAILED', message: /could not be resolved/ });
    assert.ok(askedNames.includes('nowhere.test'), 'the injected resolver answered, not the system one');
  });

  it('cancels when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = client().fetch(get(`${a.url}/no-headers`, { signal: controller.signal }));
    setImmediate(() => controller.abort());
    await assert.rejects(pending, { code: 'ERR_ABORTED' });
  });

  it('refuses schemes other than http(s) and methods other than GET/HEAD', async () => {
    for (const url of ['ftp://127.0.0.1/x', 'file:///etc/passwd', 'data:text/plain,hi', 'javascript:alert(1)']) {
      await assert.rejects(client().fetch(get(url)), { code: 'ERR_INVALID_ARGUMENT' }, url);
      await assert.rejects(client({ gatewayOrigin: new URL(a.url) }).passThrough({ url: new URL(url), method: 'POST', headers: {} }), { code: 'ERR_INVALID_ARGUMENT' }, url);
    }
    await assert.rejects(client().fetch({ ...get(`${a.url}/method`), method: 'POST' as 'GET' }), { code: 'ERR_INVALID_ARGUMENT' });
    await assert.rejects(client().passThrough({ url: new URL(`${a.url}/`), method: 'CONNECT', headers: {} }), { code: 'ERR_INVALID_ARGUMENT' });
  });

  it('never passes cookies or credentials to an origin other than the gateway origin, and the gateway follows no redirect', async () => {
    const headers = { cookie: 'session=1', authorization: 'Bearer t', 'proxy-authorization': 'Basic x', accept: 'text/plain', 'if-none-match': '"v1"', connection: 'x-drop', 'x-drop': '1' };
    const seen = async (res: Promise<{ body: Buffer }>) => JSON.parse((await res).body.toString()) as Record<string, string>;

    const open = await seen(client().fetch(get(`${a.url}/echo-headers`, { headers })));
    for (const name of ['cookie', 'authorization', 'proxy-authorization', 'x-drop']) assert.equal(open[name], undefined, name);
    assert.equal(open['accept'], 'text/plain');
    assert.equal(open['if-none-match'], '"v1"');

    const gateway = client({ allow: [], gatewayOrigin: new URL(a.url) }); // the gateway origin skips the policy
    const trusted = await seen(gateway.fetch(get(`${a.url}/echo-headers`, { headers })));
    assert.equal(trusted['cookie'], 'session=1');
    assert.equal(trusted['authorization'], 'Bearer t');
    assert.equal(trusted['proxy-authorization'], undefined);
    assert.equal(trusted['x-drop'], undefined);

    // A reverse proxy hands its origin's redirects to the client: the gateway follows none, to its own origin or any other.
    const elsewhere = encodeURIComponent(`http://origin.test:${a.port}/echo-headers`);
    for (const gatewayClient of [gateway, client({ gatewayOrigin: new URL(a.url) })]) {
      for (const to of ['/echo-headers', elsewhere]) {
        const before = requestsTo(a, '/echo-headers');
        const moved = await gatewayClient.fetch(get(`${a.url}/redirect?to=${to}`, { headers }));
        assert.deepEqual([moved.status, requestsTo(a, '/echo-headers')], [302, before], `${to}: handed back, not followed`);
      }
    }
  });

  it('hands interim responses (RFC 9110 §15.2) to the request\'s listener, apart from the final response', async () => {
    for (const send of ['fetch', 'passThrough'] as const) {
      const heard: { status: number; headers: Record<string, string | string[]> }[] = [];
      const onInterim = (status: number, headers: Record<string, string | string[]>) => heard.push({ status, headers });
      const c = client();
      const res = send === 'fetch' ? await c.fetch(get(`${a.url}/hints`, { onInterim })) : await c.passThrough({ url: new URL(`${a.url}/hints`), method: 'GET', headers: {}, onInterim });
      const body = Buffer.isBuffer(res.body) ? res.body : Buffer.concat(await res.body.toArray());
      assert.deepEqual([res.status, body.toString()], [200, 'final'], send);
      assert.deepEqual(heard.map((h) => h.status), [102, 103], send);
      assert.equal(heard[1]!.headers['link'], '</a.css>; rel=preload', send);
      assert.equal(heard[1]!.headers['x-hint'], 'yes', send);
    }
  });

  it('drops hop-by-hop headers from responses', async () => {
    const res = await client().fetch(get(`${a.url}/hop`));
    for (const name of ['connection', 'keep-alive', 'x-hop-info', 'proxy-authenticate']) assert.equal(res.headers[name], undefined, name);
    assert.equal(res.headers['x-end'], 'kept');
  });

  it('passThrough streams a request body to the origin and the response back, without hop-by-hop headers', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000, i));
    const expected = createHash('sha256').update(Buffer.concat(parts)).digest('hex');
    const res = await client({ allow: [], gatewayOrigin: new URL(a.url) }).passThrough({
      url: new URL(`${a.url}/upload`),
      method: 'post',
      headers: { 'content-type': 'application/octet-stream', connection: 'x-hop', 'x-hop': 'no', 'keep-alive': '1', te: 'trailers', 'x-keep': 'yes', authorization: 'Bearer g' },
      body: Readable.from(parts),
    });
    assert.equal(res.status, 201);
    for (const name of ['connection', 'keep-alive', 'x-private', 'transfer-encoding']) assert.equal(res.headers[name], undefined, name);
    const sent = JSON.parse(res.headers['x-seen'] as string) as Record<string, string>;
    for (const name of ['x-hop', 'keep-alive', 'te']) assert.equal(sent[name], undefined, name);
    assert.equal(sent['x-keep'], 'yes');
    assert.equal(sent['authorization'], 'Bearer g');
    const reader = res.body[Symbol.asyncIterator]();
    const first = JSON.parse(String((await reader.next()).value));
    assert.deepEqual(first, { bytes: 500_000, sha256: expected });
    releasePost(); // only now does the origin finish: the first part came through unbuffered
    let rest = '';
    for (let r = await reader.next(); !r.done; r = await reader.next()) rest += String(r.value);
    assert.equal(rest, 'done\n');
  });

  it('passThrough applies the policy and the credential rule except at the gateway origin', async () => {
    await assert.rejects(client({ allow: [] }).passThrough({ url: new URL(`${a.url}/upload`), method: 'PUT', headers: {} }), { code: 'ERR_ORIGIN_FORBIDDEN' });
    const gateway = client({ allow: [], gatewayOrigin: new URL(a.url) });
    await assert.rejects(gateway.passThrough({ url: new URL(`${b.url}/upload`), method: 'PUT', headers: {} }), { code: 'ERR_ORIGIN_FORBIDDEN' }, 'another host is another origin');
    assert.equal(b.requests.length, 0);
    const res = await client().passThrough({ url: new URL(`${a.url}/echo-headers`), method: 'DELETE', headers: { cookie: 'c=1', 'x-a': '1' } });
    const seen = JSON.parse(Buffer.concat(await res.body.toArray()).toString()) as Record<string, string>;
    assert.equal(seen['cookie'], undefined);
    assert.equal(seen['x-a'], '1');
  });
});

describe('origin - header rules', () => {
  it('stripHopByHop drops the fixed list, the Proxy-* family and what Connection names, in any case', () => {
    const out = stripHopByHop({
      Connection: 'close, X-Trace',
      'x-trace': 'a',
      'Keep-Alive': 'timeout=5',
      'Proxy-Connection': 'keep-alive',
      'proxy-authorization': 'x',
      TE: 'trailers',
      Trailer: 'Expires',
      'Transfer-Encoding': 'chunked',
      Upgrade: 'h2c',
      'Content-Type': 'text/plain',
      'Set-Cookie': ['a=1', 'b=2'],
      'x-undefined': undefined,
    });
    assert.deepEqual(out, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
  });

  it('originRequestHeaders is the one place that decides about credentials, Host and body headers', () => {
    const headers = { Host: 'evil', Cookie: 'c', Authorization: 'a', Expect: '100-continue', 'Content-Length': '3', 'Content-Type': 'text/plain', Accept: '*/*' };
    assert.deepEqual(originRequestHeaders(headers, { trusted: false, hasBody: false }), { accept: '*/*' });
    assert.deepEqual(originRequestHeaders(headers, { trusted: true, hasBody: true }), {
      cookie: 'c',
      authorization: 'a',
      'content-length': '3',
      'content-type': 'text/plain',
      accept: '*/*',
    });
  });
});
