import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';
import { viaCache, viaGateway } from '../helpers/web.js';

/**
 * Hostile requests against a gateway (CACHE_ORIGIN) ring and an open-proxy node, all on
 * loopback: each sends what an attacker would and asserts what must (not) happen.
 */
const RING = { protocol: 'chord' as const, degree: 2, idBits: 66, successors: 8 };

/** A raw request: the target is sent byte for byte, as an attacker's client would (fetch would normalise it). */
function raw(base: string, target: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path: target, method: 'GET', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Writes `text` on one new connection and reads until `answers` responses have begun or the node closes it. */
function exchange(base: string, text: string, answers: number): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if ((received.match(/HTTP\/1\.1 \d{3} /g) ?? []).length >= answers && /\r\n\r\n[^]*\}\n$/.test(received)) socket.destroy();
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.write(text.replace(/\n/g, '\r\n'));
  });
}

let sessions = 0;

/** The gateway origin: echoes what it was asked, with headers chosen per path. */
function originHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url!, 'http://origin');
  const echo = JSON.stringify({ path: req.url, authorization: req.headers.authorization ?? null });
  if (url.pathname === '/private') {
    // No Cache-Control at all: only the default TTL could make this storable.
    res.writeHead(200, { 'content-type': 'application/json' }).end(echo);
  } else if (url.pathname === '/public-auth') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=600' }).end(echo);
  } else if (url.pathname.endsWith('.html')) {
    res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=600' }).end('<script>document.cookie</script>');
  } else if (url.pathname === '/login') {
    // Shareable by its Cache-Control, but the cookie is one client's new session.
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=600', 'set-cookie': `session=${++sessions}` }).end('welcome');
  } else {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end(echo);
  }
}

describe('web cache - hostile requests to a gateway', () => {
  const group = new ProcessGroup();
  let origin: TestServer;
  /** Stands for 169.254.169.254 or any internal service: it must never see a request. */
  let internal: TestServer;
  let gateways: TestNode[] = [];
  let openProxy: TestNode;
  after(async () => {
    await group.stopAll();
    await origin?.close();
    await internal?.close();
  });
  before(async () => {
    origin = await startHttpServer(originHandler);
    internal = await startHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<script>secrets</script>'));
    // Nothing is allow-listed: the gateway origin needs no allow-listing, and nothing else may be reached.
    gateways = await startNodes(group, 2, { ...RING, env: { CACHE_ORIGIN: origin.url, CACHE_ORIGIN_ALLOWLIST: '' } });
    [openProxy] = await startNodes(group, 1, { ...RING, env: { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1' } });
    await waitForStableRing(gateways, RING);
    await waitFor('nodes READY', async () => (await Promise.all([...gateways, openProxy!].map((n) => fetch(`${n.http}/health`)))).every((r) => r.ok));
  });

  it('a path that looks like another host stays a path on the gateway origin', async () => {
    const host = new URL(internal.url).host;
    for (const target of [`/.//${host}/latest/meta-data/`, `/%2e//${host}/x`, `/a/..//${host}/y`, `//${host}/z`, `/\\${host}/w`]) {
      for (const node of gateways) {
        const res = await raw(node.http, target);
        assert.equal(res.status, 200, `${target}: ${res.body}`);
        const seen = JSON.parse(res.body) as { path: string };
        assert.ok(seen.path.startsWith(`//${host}/`), `${target} reached the gateway origin as the path ${seen.path}`);
      }
    }
    assert.equal(internal.requests.length, 0, 'the internal server saw nothing');
  });

  it('unsafe methods with such paths go to the gateway origin too', async () => {
    const host = new URL(internal.url).host;
    const res = await viaGateway(gateways[0]!, `/x/..//${host}/post`, { method: 'POST', body: 'data', headers: { 'content-type': 'text/plain' } });
    assert.equal(res.status, 200);
    assert.equal(internal.requests.length, 0);
  });

  it('a response to an authorised request without Cache-Control is never served to an anonymous client', async () => {
    const authorised = await viaGateway(gateways[0]!, '/private', { headers: { authorization: 'Bearer alice-token' } });
    assert.equal(JSON.parse(authorised.body).authorization, 'Bearer alice-token', 'the gateway origin got the credentials');
    for (const node of gateways) {
      const anonymous = await viaGateway(node, '/private');
      assert.equal(JSON.parse(anonymous.body).authorization, null, "alice's answer was not stored");
    }
  });

  it('a response that sets a cookie is not stored, so no client gets another one\'s session', async () => {
    const first = await viaGateway(gateways[0]!, '/login');
    const second = await viaGateway(gateways[1]!, '/login');
    assert.match(first.headers.get('set-cookie')!, /^session=\d+$/);
    assert.notEqual(second.headers.get('set-cookie'), first.headers.get('set-cookie'));
    assert.match(second.xCache!, /^MISS/);
  });

  it('/cache?url= is off in gateway mode: a JSON 404, and nothing fetched', async () => {
    const res = await viaCache(gateways[0]!, `${internal.url}/page.html`);
    assert.equal(res.status, 404);
    assert.match(JSON.parse(res.body).message, /CACHE_OPEN_PROXY=true/);
    assert.equal(internal.requests.length, 0);
  });

  it('every /cache?url= answer of an open proxy forbids sniffing and runs its page sandboxed', async () => {
    const page = await viaCache(openProxy!, `${origin.url}/attacker.html`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html');
    // Fresh hits take a shorter path through the node than misses: they are answered the same.
    const hit = await viaCache(openProxy!, `${origin.url}/attacker.html`);
    assert.equal(hit.xCache, 'HIT-LOCAL');
    assert.equal(hit.body, page.body);
    const head = await viaCache(openProxy!, `${origin.url}/attacker.html`, {}, 'HEAD');
    assert.equal(head.xCache, 'HIT-LOCAL');
    assert.equal(head.body, '');
    assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(page.body)));
    const refused = await viaCache(openProxy!, 'ftp://nowhere/x');
    assert.equal(refused.status, 400);
    for (const res of [page, hit, head, refused]) {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('content-security-policy'), 'sandbox');
    }
  });

  it('a request target that is not a valid URL reference is a JSON 400, not a 500', async () => {
    for (const node of [gateways[0]!, openProxy!]) {
      const res = await raw(node.http, '//[');
      assert.equal(res.status, 400);
      assert.equal(JSON.parse(res.body).error, 'invalid_argument');
    }
    assert.doesNotMatch(gateways[0]!.proc.output(), /request failed/, 'no error log line');
  });

  it('pipelined /cache requests are answered in order, and hostile heads get node:http\'s 400 or 431 while the node serves on', async () => {
    const target = `/cache?url=${encodeURIComponent(`${origin.url}/pipelined`)}`;
    const pipelined = await exchange(openProxy.http, `GET ${target} HTTP/1.1\nHost: n\n\nHEAD ${target} HTTP/1.1\nHost: n\n\nGET /health HTTP/1.1\nHost: n\n\n`, 3);
    const answers = pipelined.split(/(?=HTTP\/1\.1 \d{3} )/);
    assert.equal(answers.length, 3, pipelined);
    assert.match(answers[0]!, /^HTTP\/1\.1 200 OK\r\n[^]*\r\nx-cache: MISS-ORIGIN\r\n[^]*"path": ?"\/pipelined"/);
    assert.match(answers[1]!, /^HTTP\/1\.1 200 OK\r\n[^]*\r\nx-cache: HIT-LOCAL\r\n[^]*\r\n\r\n$/, 'the HEAD answer comes second, without a body');
    assert.match(answers[2]!, /^HTTP\/1\.1 200 OK\r\n[^]*"healthy": true/);

    const control = await exchange(openProxy.http, `GET ${target} HTTP/1.1\nHost: n\nAccept: a\u0001b\n\n`, 1);
    assert.match(control, /^HTTP\/1\.1 400 Bad Request\r\n/);
    const huge = await exchange(openProxy.http, `GET ${target} HTTP/1.1\nHost: n\nAccept: ${'a'.repeat(20 * 1024)}\n\n`, 1);
    assert.match(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    const after = await fetch(`${openProxy.http}${target}`);
    assert.equal(after.headers.get('x-cache'), 'HIT-LOCAL');
    await after.body?.cancel();
  });
});
