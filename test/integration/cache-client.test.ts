import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { freePorts, ProcessGroup } from '../helpers/processes.js';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';

const CLIENT = 'dist/cli/cache-client.js';

const METRICS = {
  node: { id: '0x1f2e3d', addr: '127.0.0.1:4000', protocol: 'koorde' },
  cache: { hits: 30, misses: 10, evictions: 2, stores: 10, hit_rate: 0.75, entry_count: 8, size_bytes: 10_240, capacity_bytes: 1_073_741_824, utilization: 0.0000095 },
  hotspots: { count: 2, urls: ['http://origin.test/obj/1', { url: 'http://origin.test/obj/2', rate: 1234.5678 }] },
  routing: { successor_count: 8, debruijn_count: 4, finger_count: 0, has_predecessor: true, stats: { protocol: 'koorde', de_bruijn_success: 5, de_bruijn_failures: 0, successor_fallbacks: 1 } },
  lookups: { count: 40, hops_avg: 1.75, hops_p99: 4, latency_ms_p50: 0.8, latency_ms_p99: 3.25 },
};

const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** Mimics the docs/api.md answers of a node: enough to check what cache-client prints. */
function fakeNode(ready: boolean, seenUrls: string[]) {
  return startHttpServer((req, res) => {
    const url = new URL(req.url!, 'http://node');
    if (url.pathname === '/health') return json(res, ready ? 200 : 503, { healthy: ready, status: ready ? 'READY' : 'NOT_INITIALIZED', node_id: '0x1f2e3d', details: { successors: 8, ring: 'stable' } });
    if (url.pathname === '/metrics') return json(res, 200, METRICS);
    if (url.pathname === '/debug') return json(res, 200, { self: { id: '0x1f2e3d', addr: '127.0.0.1:4000' }, predecessor: null, successors: [] });
    if (url.pathname !== '/cache') return json(res, 404, { error: 'ERR_NOT_FOUND', message: 'no such path' });
    const target = url.searchParams.get('url');
    if (target === null) return json(res, 400, { error: 'ERR_INVALID_ARGUMENT', message: 'missing url parameter' });
    seenUrls.push(target);
    const cacheHeaders = { 'x-cache': 'MISS-ORIGIN', 'x-node-id': '0x1f2e3d', 'x-responsible-node': '127.0.0.1:4001', 'x-hops': '2', 'x-latency-ms': '3' };
    if (target.startsWith('http://origin.test/obj/1')) {
      return res.writeHead(200, { ...cacheHeaders, age: '0', 'content-type': 'text/plain' }).end(`koorde-origin /obj/1 version 1\n${'x'.repeat(200)}`);
    }
    if (target === 'http://origin.test/missing') return res.writeHead(404, { ...cacheHeaders, 'content-type': 'text/plain' }).end('not here');
    if (target === 'http://origin.test/binary') return res.writeHead(200, { ...cacheHeaders, 'x-cache': 'HIT-DHT' }).end(Buffer.from([0, 1, 2, 255, 254]));
    if (target === 'http://slow.test/') return; // never answers
    json(res, 403, { error: 'ERR_ORIGIN_FORBIDDEN', message: `origin 127.0.0.1 is a loopback address; add "127.0.0.1" to CACHE_ORIGIN_ALLOWLIST` });
  });
}

describe('integration - cache-client through a pipe', () => {
  const group = new ProcessGroup();
  const seen: string[] = [];
  let ready: TestServer;
  let starting: TestServer;
  after(async () => {
    await group.stopAll();
    await Promise.all([ready?.close(), starting?.close()]);
  });
  before(async () => {
    ready = await fakeNode(true, seen);
    starting = await fakeNode(false, []);
  });

  it('prints what the cache did, the node figures, and errors in plain words', async () => {
    const [dead] = await freePorts(1);
    const script = [
      'cache http://origin.test/obj/1?a=1&b=two words',
      'cache http://origin.test/missing',
      'cache http://127.0.0.1/forbidden',
      'cache http://origin.test/binary',
      'metrics',
      'hotspots',
      'health',
      'debug',
      `use ${starting.url}/`,
      'health',
      'use ftp://nowhere',
      `use http://127.0.0.1:${dead}`,
      'health',
      `use ${ready.url}`,
      'cache http://slow.test/',
      'cache',
      'frobnicate',
      '',
    ].join('\n');
    const proc = group.node('cache-client', CLIENT, ['--addr', ready.url, '--timeout', '500ms']);
    proc.child.stdin!.end(script);
    assert.equal(await proc.exited, 0, proc.output());
    const out = proc.output();
    const block = (n: number) => out.split(/\(\d+\.\d ms\)\n/)[n]!;

    assert.deepEqual(seen.slice(0, 1), ['http://origin.test/obj/1?a=1&b=two']); // the URL arrives intact, percent-encoded
    assert.match(block(0), /^status {7}200 OK\nx-cache {6}MISS-ORIGIN\nnode {9}0x1f2e3d\nresponsible {2}127\.0\.0\.1:4001\nhops {9}2\nage {10}0 s\nlatency {6}\d+\.\d ms \(node: 3 ms\)\nbody {9}231 bytes, text\/plain\n {13}"koorde-origin \/obj\/1 version 1\\nxxx/);
    assert.match(block(0), /"koorde-origin \/obj\/1 version 1\\nx{33}"… {2}$/); // 64 bytes, then an ellipsis
    assert.match(block(1), /^status {7}404 Not Found\nx-cache {6}MISS-ORIGIN\n[\s\S]*"not here"/);
    assert.match(block(2), /^error: HTTP 403 — ERR_ORIGIN_FORBIDDEN: origin 127\.0\.0\.1 is a loopback address; add "127\.0\.0\.1" to CACHE_ORIGIN_ALLOWLIST {2}$/);
    assert.match(block(3), /x-cache {6}HIT-DHT[\s\S]*body {9}5 bytes\n {13}hex 000102fffe {2}$/);
    assert.match(block(4), /^node {9}0x1f2e3d {2}127\.0\.0\.1:4000 {2}koorde$/m);
    assert.match(block(4), /^cache {8}hit rate 75\.0 % {2}\(30 hits, 10 misses\) {2}10 stores {2}2 evictions$/m);
    assert.match(block(4), /^storage {6}8 entries {2}10\.0 KiB of 1\.0 GiB {2}\(0\.0 % used\)$/m);
    assert.match(block(4), /^hotspots {5}2 hot URLs$/m);
    assert.match(block(4), /^routing {6}8 successors {2}4 de Bruijn {2}0 fingers {2}predecessor yes$/m);
    assert.match(block(4), /^lookups {6}40 {2}hops avg 1\.75 p99 4\.0 {2}latency p50 0\.8 ms p99 3\.3 ms/m);
    assert.match(block(5), /^2 hot URLs\n {2}http:\/\/origin\.test\/obj\/1\n {2}http:\/\/origin\.test\/obj\/2 {2}\(rate 1234\.57\) {2}$/);
    assert.match(block(6), /^status {7}READY {2}healthy {2}\(HTTP 200\)\nnode {9}0x1f2e3d\n {2}successors 8\n {2}ring {7}stable {2}$/);
    assert.match(block(7), /^\{\n {2}"self": \{\n {4}"id": "0x1f2e3d"/);
    assert.equal(block(8), `now using ${starting.url}  `);
    assert.match(block(9), /^status {7}NOT_INITIALIZED {2}not healthy {2}\(HTTP 503\)/);
    assert.match(block(10), /^error: invalid input — "ftp:\/\/nowhere" is not an http\(s\) URL/);
    assert.match(block(12), new RegExp(`^error: unreachable — could not reach http://127\\.0\\.0\\.1:${dead} \\(connection refused\\)`));
    assert.match(block(14), new RegExp(`^error: timeout — no answer from ${ready.url.replace(/\./g, '\\.')} within 500 ms`));
    assert.match(out, /^error: invalid input — usage: cache <url>$/m);
    assert.match(out, /^error: invalid input — unknown command "frobnicate" \(try help\)$/m);
  });

  it('help lists the commands of docs/api.md', async () => {
    const proc = group.node('cache-client-help', CLIENT, ['--addr', ready.url]);
    proc.child.stdin!.end('help\nexit\nmetrics\n');
    assert.equal(await proc.exited, 0);
    for (const name of ['cache <url>', 'metrics', 'health', 'hotspots', 'debug', 'use <url>', 'help', 'exit']) assert.match(proc.output(), new RegExp(`^  ${name.replace(/[<>]/g, '.')}\\s`, 'm'));
    assert.doesNotMatch(proc.output(), /^node /m, 'nothing runs after exit');
  });

  for (const args of [['--addr', 'localhost:8080'], ['--timeout', 'soon'], ['--verbose']]) {
    it(`exits 2 with a one-line reason on ${args.join(' ')}`, async () => {
      const proc = group.node('bad-cache-client', CLIENT, args);
      proc.child.stdin!.end();
      assert.equal(await proc.exited, 2);
      assert.match(proc.output(), /^cache-client: .+\n$/);
    });
  }
});
