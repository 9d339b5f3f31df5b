import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';
import { viaGateway } from '../helpers/web.js';

const RING = { protocol: 'chord' as const, degree: 2, idBits: 66, successors: 8 };
const BODY = 'the representation';

/**
 * RFC 9111 and RFC 9213 end to end, on a 3-node ring in gateway mode in front of an origin whose
 * every answer a test writes itself (raw header lines included), each request sent to a
 * different node so that forwarded answers are checked as well as the owner's own.
 */
describe('RFC 9111 through a gateway-mode ring', () => {
  const group = new ProcessGroup();
  const asked = new Map<string, IncomingMessage[]>();
  /** What the origin answers for a path: raw header lines, so that a field can repeat. */
  const scripts = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  let origin: Server;
  let nodes: TestNode[] = [];

  before(async () => {
    origin = createServer((req, res) => {
      const path = req.url!;
      asked.set(path, [...(asked.get(path) ?? []), req]);
      const script = scripts.get(path);
      if (script) script(req, res);
      else res.writeHead(404).end();
    });
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    const base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
    nodes = await startNodes(group, 3, { ...RING, env: { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1', CACHE_ORIGIN: base, CACHE_DEFAULT_TTL: '0' } });
    await waitForStableRing(nodes, RING);
    await waitFor('nodes READY', async () => (await Promise.all(nodes.map((n) => fetch(`${n.http}/health`)))).every((r) => r.ok));
  });
  after(async () => {
    await group.stopAll();
    origin.closeAllConnections();
    origin.close();
  });

  /** An origin path answering `status` with these raw header lines and BODY. */
  const serve = (path: string, status: number, lines: [string, string][]) => {
    scripts.set(path, (_req, res) => {
      res.writeHead(status, [...lines, ['Date', new Date().toUTCString()], ['Content-Length', String(Buffer.byteLength(BODY))]].flat());
      res.end(BODY);
    });
    return path;
  };
  /** GET the path through each node in turn. */
  const getTwice = async (path: string) => [await viaGateway(nodes[0]!, path), await viaGateway(nodes[1]!, path)] as const;
  const originRequests = (path: string) => asked.get(path)?.length ?? 0;

  it('RFC 9110 §5.3, RFC 9111 §5.2: Cache-Control on two lines is one list: 200, then a hit, never a 500', async () => {
    const p = serve('/two-lines', 200, [['Cache-Control', 'public'], ['Cache-Control', 'max-age=600']]);
    const [first, second] = await getTwice(p);
    assert.equal(first.status, 200);
    assert.equal(first.body, BODY);
    assert.match(first.headers.get('cache-status')!, /fwd=uri-miss.*stored/);
    assert.match(second.xCache!, /^HIT/);
    assert.match(second.headers.get('cache-status')!, /^koorde; hit; ttl=\d+/);
    assert.equal(originRequests(p), 1);
  });

  it('RFC 9111 §5.2: directive names are case-insensitive (MAX-AGE)', async () => {
    const p = serve('/upper-case', 200, [['Cache-Control', 'PUBLIC, MAX-AGE=600']]);
    const [, second] = await getTwice(p);
    assert.match(second.xCache!, /^HIT/);
    assert.equal(originRequests(p), 1);
  });

  it('RFC 9111 §5.3: a malformed Expires is in the past, so the response is not reused', async () => {
    const later = new Date(Date.now() + 3_600_000).toUTCString();
    for (const [name, expires] of [['utc', later.replace('GMT', 'UTC')], ['no-comma', later.replace(',', '')], ['dashes', later.replace(/ (\w{3}) (\d{4})/, '-$1-$2')]]) {
      const p = serve(`/expires-${name}`, 200, [['Expires', expires!]]);
      const [first, second] = await getTwice(p);
      assert.doesNotMatch(first.headers.get('cache-status')!, /stored/, expires);
      assert.match(second.xCache!, /^MISS/, expires);
      assert.equal(originRequests(p), 2, expires);
    }
    const valid = serve('/expires-rfc850', 200, [['Expires', new Date(Date.now() + 3_600_000).toUTCString().replace(/^(\w{3}), (\d{2}) (\w{3}) \d{2}(\d{2})/, (_m, d: string, dd: string, mon: string, yy: string) => `${{ Mon: 'Monday', Tue: 'Tuesday', Wed: 'Wednesday', Thu: 'Thursday', Fri: 'Friday', Sat: 'Saturday', Sun: 'Sunday' }[d]}, ${dd}-${mon}-${yy}`)]]);
    const [, second] = await getTwice(valid);
    assert.match(second.xCache!, /^HIT/, 'an RFC 850 date is a date');
  });

  it('RFC 9111 §3, §4.2.1: explicit freshness makes any final status reusable', async () => {
    for (const status of [404, 500, 503, 299]) {
      const p = serve(`/status-${status}`, status, [['Cache-Control', 'max-age=600']]);
      const [first, second] = await getTwice(p);
      assert.equal(first.status, status);
      assert.equal(second.status, status);
      assert.match(second.xCache!, /^HIT/, String(status));
      assert.equal(originRequests(p), 1, String(status));
    }
  });

  it('RFC 9111 §5.2.2.2: must-revalidate does not stop a fresh response being reused', async () => {
    const p = serve('/must-revalidate', 200, [['Cache-Control', 'max-age=600, must-revalidate']]);
    const [, second] = await getTwice(p);
    assert.match(second.xCache!, /^HIT/);
    assert.equal(originRequests(p), 1);
  });

  it('RFC 9111 §4.3.4: a 304 that states another Content-Length refreshes the stored response, body and length intact', async () => {
    const p = '/not-modified-length';
    scripts.set(p, (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') res.writeHead(304, { ETag: '"v1"', 'Cache-Control': 'max-age=0', 'Content-Length': '12345', 'X-Refreshed': 'yes' }).end();
      else res.writeHead(200, { ETag: '"v1"', 'Cache-Control': 'max-age=0', 'Content-Length': String(Buffer.byteLength(BODY)) }).end(BODY);
    });
    const [first, second] = await getTwice(p);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.equal(second.xCache, 'REVALIDATED');
    assert.equal(second.body, BODY);
    assert.equal(second.headers.get('content-length'), String(Buffer.byteLength(BODY)));
    assert.equal(second.headers.get('x-refreshed'), 'yes');
  });

  it('RFC 9213: CDN-Cache-Control decides for this cache over Cache-Control, and is not passed downstream', async () => {
    const p = serve('/cdn-cache-control', 200, [['Cache-Control', 'no-store'], ['CDN-Cache-Control', 'max-age=600']]);
    const [first, second] = await getTwice(p);
    assert.equal(first.headers.get('cdn-cache-control'), null);
    assert.equal(first.headers.get('cache-control'), 'no-store', 'Cache-Control stays for the caches downstream');
    assert.match(second.xCache!, /^HIT/);
    assert.equal(second.headers.get('cdn-cache-control'), null);
    assert.equal(originRequests(p), 1);
    const refused = serve('/cdn-no-store', 200, [['Cache-Control', 'max-age=600'], ['CDN-Cache-Control', 'no-store']]);
    const [, again] = await getTwice(refused);
    assert.match(again.xCache!, /^MISS/);
    assert.equal(originRequests(refused), 2);
  });

  it('RFC 9111 §5.2.1.7, RFC 9211: only-if-cached gets a 504 that says it was not forwarded, or the stored response', async () => {
    const p = serve('/only-if-cached', 200, [['Cache-Control', 'max-age=600']]);
    const none = await viaGateway(nodes[0]!, p, { headers: { 'cache-control': 'only-if-cached' } });
    assert.equal(none.status, 504);
    assert.equal(none.headers.get('cache-status'), 'koorde; detail=only-if-cached');
    assert.equal(originRequests(p), 0);
    await viaGateway(nodes[0]!, p);
    const stored = await viaGateway(nodes[1]!, p, { headers: { 'cache-control': 'only-if-cached' } });
    assert.equal(stored.status, 200);
    assert.match(stored.headers.get('cache-status')!, /^koorde; hit/);
    assert.equal(originRequests(p), 1);
  });

  it('RFC 5861 §3, RFC 9211: stale-while-revalidate serves the stale copy, says so, and revalidates once', async () => {
    const p = serve('/swr', 200, [['Cache-Control', 'max-age=1, stale-while-revalidate=60'], ['ETag', '"w"']]);
    await viaGateway(nodes[0]!, p);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const stale = await viaGateway(nodes[1]!, p);
    assert.equal(stale.status, 200);
    assert.equal(stale.body, BODY);
    assert.equal(stale.headers.get('cache-status'), 'koorde; hit; fwd=stale; detail=stale-while-revalidate');
    await waitFor('the background revalidation', async () => originRequests(p) === 2);
  });

  it('RFC 9111 §4.1: Vary matching ignores the order and case of Accept-Language', async () => {
    const p = serve('/vary-language', 200, [['Cache-Control', 'max-age=600'], ['Vary', 'Accept-Language']]);
    await viaGateway(nodes[0]!, p, { headers: { 'accept-language': 'en-US, fr;q=0.5' } });
    const second = await viaGateway(nodes[1]!, p, { headers: { 'accept-language': 'fr;q=0.5,EN-us' } });
    assert.match(second.xCache!, /^HIT/);
    assert.equal(originRequests(p), 1);
  });

  it('RFC 9211 §2.2, §2.6: a stored URL whose variants the request does not select is fwd=vary-miss, through every node', async () => {
    const p = serve('/vary-miss', 200, [['Cache-Control', 'max-age=600'], ['Vary', 'Accept-Language']]);
    const first = await viaGateway(nodes[0]!, p, { headers: { 'accept-language': 'en' } });
    assert.match(first.headers.get('cache-status')!, /^koorde; fwd=uri-miss; fwd-status=200; stored$/);
    for (const node of nodes) {
      const other = await viaGateway(node, p, { headers: { 'accept-language': `de-${node.http.slice(-2)}` } });
      assert.match(other.headers.get('cache-status')!, /^koorde; fwd=vary-miss; fwd-status=200; stored$/, node.http);
    }
  });

  it('RFC 9211 §2.7: requests that waited for another one\'s origin fetch say collapsed; the origin is asked once', async () => {
    const path = '/collapsed';
    scripts.set(path, (_req, res) => {
      setTimeout(() => res.writeHead(200, { 'cache-control': 'max-age=600', date: new Date().toUTCString(), 'content-length': Buffer.byteLength(BODY) }).end(BODY), 500);
    });
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => viaGateway(nodes[i % nodes.length]!, path)));
    const statuses = answers.map((a) => a.headers.get('cache-status')!);
    assert.equal(originRequests(path), 1, statuses.join(' | '));
    assert.equal(statuses.filter((s) => /^koorde; fwd=uri-miss; fwd-status=200; stored$/.test(s)).length, 1, statuses.join(' | '));
    assert.equal(statuses.filter((s) => /^koorde; fwd=uri-miss; fwd-status=200; stored; collapsed$/.test(s)).length, 5, statuses.join(' | '));
  });
});
