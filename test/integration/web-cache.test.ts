import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { originCount, ownerOf, viaCache, webClusterForSuite } from '../helpers/web.js';

const RING = { protocol: 'koorde' as const, degree: 2, idBits: 66, successors: 8 };

describe('web cache - a 5-node ring in front of a local origin', () => {
  const cluster = webClusterForSuite(5, RING);

  it('misses once, then hits through every node; the origin sees one request per URL; the oracle names the owner', async () => {
    for (let i = 0; i < 5; i++) {
      const url = `${cluster.origin}/obj/basic-${i}`;
      const owner = await ownerOf(cluster.nodes, url);
      const first = await viaCache(cluster.nodes[i]!, url);
      assert.equal(first.status, 200);
      assert.match(first.xCache!, /^MISS-(ORIGIN|DHT)$/);
      assert.equal(first.xCache, cluster.nodes[i]!.addr === owner ? 'MISS-ORIGIN' : 'MISS-DHT');
      for (const node of cluster.nodes) {
        const again = await viaCache(node, url);
        assert.equal(again.xCache, node.addr === owner ? 'HIT-LOCAL' : 'HIT-DHT', `through ${node.addr}`);
        assert.equal(again.headers.get('x-responsible-node'), owner);
        assert.equal(again.headers.get('x-entry-node'), node.addr);
        assert.equal(again.body, first.body);
        for (const h of ['cache-status', 'age', 'x-node-id', 'x-hops']) assert.ok(again.headers.get(h) !== null, h);
        assert.match(again.headers.get('x-latency-ms')!, /^\d+\.\d\d$/);
      }
      assert.equal(await originCount(cluster.origin, `/obj/basic-${i}`), 1);
    }
  });

  it('50 concurrent first requests for one URL make one origin request', async () => {
    const url = `${cluster.origin}/obj/stampede?delay=200`;
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => viaCache(cluster.nodes[i % cluster.nodes.length]!, url)));
    assert.ok(answers.every((a) => a.status === 200));
    assert.equal(await originCount(cluster.origin, '/obj/stampede?delay=200'), 1);
  });

  it('refuses internal origins that are not allow-listed with 403, without contacting them', async () => {
    for (const target of ['http://127.0.0.2:9/obj/1', 'http://169.254.169.254/latest/meta-data/', 'http://[::ffff:127.0.0.2]:9/', 'http://2130706434:9/', 'http://10.1.2.3/']) {
      const res = await viaCache(cluster.nodes[0]!, target);
      assert.equal(res.status, 403, target);
      assert.equal(JSON.parse(res.body).error, 'origin_forbidden', target);
    }
  });

  it('answers bad requests with 400 JSON', async () => {
    const cases = ['/cache', '/cache?url=', '/cache?url=not-a-url', '/cache?url=%2Frelative', '/cache?url=ftp%3A%2F%2F127.0.0.1%2Fx', '/cache?url=javascript%3Aalert(1)'];
    for (const path of cases) {
      const res = await fetch(`${cluster.nodes[1]!.http}${path}`);
      assert.equal(res.status, 400, path);
      assert.match(res.headers.get('content-type')!, /application\/json/);
      const body = (await res.json()) as { error: string; message: string };
      assert.equal(body.error, 'invalid_argument', path);
      assert.ok(body.message.length > 0);
    }
    const post = await fetch(`${cluster.nodes[1]!.http}/cache?url=${encodeURIComponent(`${cluster.origin}/obj/1`)}`, { method: 'POST' });
    assert.equal(post.status, 405);
  });

  it('reports /metrics in JSON (docs/api.md fields, consistent with the requests) and Prometheus text', async () => {
    const before = (await (await fetch(`${cluster.nodes[2]!.http}/metrics`)).json()) as any;
    const url = `${cluster.origin}/obj/metrics-probe`;
    await viaCache(cluster.nodes[2]!, url);
    await viaCache(cluster.nodes[2]!, url);
    const m = (await (await fetch(`${cluster.nodes[2]!.http}/metrics`)).json()) as any;
    for (const field of ['id', 'addr', 'protocol']) assert.ok(m.node[field], `node.${field}`);
    for (const field of ['hits', 'misses', 'evictions', 'stores', 'hit_rate', 'entry_count', 'size_bytes', 'capacity_bytes', 'utilization']) {
      assert.equal(typeof m.cache[field], 'number', `cache.${field}`);
    }
    assert.ok(Array.isArray(m.hotspots.urls) && typeof m.hotspots.count === 'number');
    for (const field of ['successor_count', 'debruijn_count', 'finger_count', 'has_predecessor']) assert.ok(field in m.routing, `routing.${field}`);
    for (const field of ['protocol', 'de_bruijn_success', 'de_bruijn_failures', 'successor_fallbacks']) assert.ok(field in m.routing.stats, `routing.stats.${field}`);
    for (const field of ['count', 'hops_avg', 'hops_p99', 'latency_ms_p50', 'latency_ms_p99']) assert.equal(typeof m.lookups[field], 'number', `lookups.${field}`);
    assert.equal(m.routing.debruijn_count > 0, true);
    assert.equal(m.requests.count - before.requests.count, 2, 'both requests counted at the entry');
    assert.ok(m.cache.capacity_bytes > 0 && m.cache.utilization >= 0 && m.cache.utilization <= 1);

    const prom = await fetch(`${cluster.nodes[2]!.http}/metrics`, { headers: { accept: 'text/plain' } });
    assert.match(prom.headers.get('content-type')!, /text\/plain/);
    const text = await prom.text();
    const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.ok(samples.length > 10);
    for (const line of samples) assert.match(line, /^koorde_[a-z0-9_]+(\{[a-z_]+="[^"]*"\})? -?[0-9.e+-]+$/, line);
    assert.match(text, /^# TYPE koorde_cache_hits_total gauge$/m);
    assert.equal((await fetch(`${cluster.nodes[2]!.http}/metrics?format=prometheus`)).headers.get('content-type'), prom.headers.get('content-type'));
  });

  it('serves /health and /debug', async () => {
    const health = (await (await fetch(`${cluster.nodes[3]!.http}/health`)).json()) as any;
    assert.deepEqual([health.healthy, health.status], [true, 'READY']);
    assert.match(health.node_id, /^0x[0-9a-f]+$/);
    const debug = (await (await fetch(`${cluster.nodes[3]!.http}/debug`)).json()) as any;
    assert.equal(debug.self.addr, cluster.nodes[3]!.addr);
    assert.equal(debug.successors.length, 4);
    assert.ok(Array.isArray(debug.de_bruijn));
  });
});
