import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { ProcessGroup } from '../helpers/processes.js';

const CLIENT = 'dist/cli/cache-client.js';
const json = (res: ServerResponse, body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));

describe('integration - cache-client takes what users of the original client type', () => {
  const group = new ProcessGroup();
  const seen: string[] = [];
  let node: TestServer;
  before(async () => {
    node = await startHttpServer((req, res) => {
      const url = new URL(req.url!, 'http://node');
      seen.push(`${req.headers.host} ${url.pathname}${url.search}`);
      if (url.pathname === '/metrics') {
        return json(res, {
          node: { id: '0x1f', addr: '127.0.0.1:4000', protocol: 'koorde' },
          cache: { hits: 1, misses: 1, evictions: 0, stores: 1, hit_rate: 0.5, entry_count: 1, size_bytes: 10, capacity_bytes: 100, utilization: 0.1 },
          hotspots: { count: 1, urls: ['http://origin.test/hot'] },
          routing: { successor_count: 1, debruijn_count: 1, finger_count: 0, has_predecessor: true, stats: { protocol: 'koorde' } },
          lookups: { count: 1, hops_avg: 1, hops_p99: 1, latency_ms_p50: 1, latency_ms_p99: 1 },
        });
      }
      if (url.pathname === '/health') return json(res, { healthy: true, status: 'READY', node_id: '0x1f', details: {} });
      res.writeHead(200, { 'x-cache': 'HIT-LOCAL', 'content-type': 'text/plain' }).end('body');
    });
  });
  after(async () => {
    await group.stopAll();
    await node?.close();
  });

  it('get, stats, hot, connect host:port, ? and q do what cache, metrics, hotspots, use, help and exit do', async () => {
    const hostPort = node.url.replace(/^http:\/\//, '');
    const proc = group.node('cache-client', CLIENT, ['--addr', 'http://127.0.0.1:9']);
    proc.child.stdin!.end([`connect ${hostPort}`, 'get http://origin.test/a', 'stats', 'hot', `use ${hostPort}`, '?', 'q', 'health'].join('\n') + '\n');
    assert.equal(await proc.exited, 0, proc.output());
    const out = proc.output();
    assert.match(out, new RegExp(`now using http://${hostPort.replace(/\./g, '\\.')}`));
    assert.match(out, /^x-cache {6}HIT-LOCAL$/m);
    assert.match(out, /^cache {8}hit rate 50\.0 %/m);
    assert.match(out, /^1 hot URL/m);
    assert.match(out, /^ {2}get <url>|\(also: get\)/m);
    assert.match(out, /^ {2}exit .*\(also: quit, q\)$/m);
    assert.doesNotMatch(out, /READY/, 'nothing runs after q');
    assert.deepEqual(
      seen.map((s) => s.split(' ')[1]),
      ['/cache?url=http%3A%2F%2Forigin.test%2Fa', '/metrics', '/metrics'],
    );
  });
});
