import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IdSpace } from '../../src/id/id-space.js';
import type { Protocol } from '../../src/routing/router.js';
import { Oracle } from '../../src/sim/oracle.js';
import { SyntheticOrigin } from '../../src/synthetic/origin-server.js';
import type { ClusterView } from '../../src/http/cluster-view.js';
import type { Trace } from '../../src/cache/cache-service.js';
import { expectedTables, nodeIds, startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';
import { viaCache } from '../helpers/web.js';

const BITS = 66;
const SUCCESSORS = 8;
const space = new IdSpace(BITS);
const hex = (id: bigint) => '0x' + space.toHex(id);

/** Hop kinds each protocol's lookups may take, plus the forward to the owner. */
const KINDS: Record<Protocol, readonly string[]> = {
  koorde: ['debruijn', 'correction', 'successor', 'forward'],
  chord: ['finger', 'successor', 'forward'],
};

async function json<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

for (const protocol of ['koorde', 'chord'] as const) {
  const RING = { protocol, degree: 2, idBits: BITS, successors: SUCCESSORS };

  describe(`GET /cluster and /trace - an 8-node ${protocol} ring against the oracle`, () => {
    const group = new ProcessGroup();
    const origin = new SyntheticOrigin({ port: 0 });
    let base = '';
    let nodes: TestNode[] = [];
    let ids = new Map<string, bigint>();
    let oracle: Oracle;
    after(async () => {
      await group.stopAll();
      await origin.close();
    });
    before(async () => {
      base = await origin.listen();
      // Node 0 looks every owner up afresh (no route cache), so its traces and requests take the
      // same full lookup; the others keep the default route cache.
      nodes = await startNodes(group, 8, { ...RING, env: { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1' }, envFor: (i): Record<string, string> => (i === 0 ? { CACHE_ROUTE_CACHE: 'false' } : {}) });
      await waitForStableRing(nodes, RING);
      await waitFor('every node READY', async () => (await Promise.all(nodes.map((n) => fetch(`${n.http}/health`)))).every((r) => r.status === 200));
      ids = await nodeIds(nodes);
      oracle = new Oracle([...ids].map(([addr, id]) => ({ addr, id })), SUCCESSORS);
    });

    /**
     * What must hold of any trace from `serving` on a stable ring: the oracle's owner; a lookup
     * (unless the route cache knew the owner) that starts at the serving node, moves from node to
     * node and ends at the key's predecessor; then, unless the serving node owns the key, one
     * forward from the serving node to the owner.
     */
    function checkTrace(trace: Trace, serving: TestNode, key: bigint): void {
      const at = (addr: string) => ({ id: hex(ids.get(addr)!), addr });
      const owner = oracle.ownerOf(key);
      assert.equal(trace.key, hex(key));
      assert.deepEqual(trace.owner, at(owner.addr));
      assert.equal(trace.hops, trace.path.length);
      const lookup = trace.path.filter((h) => h.kind !== 'forward');
      const forwards = trace.path.filter((h) => h.kind === 'forward');
      let walker = serving.addr;
      for (const [i, hop] of lookup.entries()) {
        assert.equal(hop.from.addr, walker, `hop ${i + 1} starts where the previous one ended (the serving node first)`);
        assert.deepEqual(hop.from, at(hop.from.addr));
        assert.deepEqual(hop.to, at(hop.to.addr));
        walker = hop.to.addr;
      }
      if (trace.via === 'lookup') assert.equal(walker, oracle.predecessorOf(key).addr, 'the lookup ends at the key’s predecessor, which knows the owner');
      else assert.equal(lookup.length, 0, `no lookup when the owner comes from the ${trace.via}`);
      if (owner.addr === serving.addr) assert.equal(forwards.length, 0);
      else {
        assert.equal(forwards.length, 1);
        assert.equal(trace.path.at(-1)!.kind, 'forward', 'the forward comes last');
        assert.deepEqual([forwards[0]!.from, forwards[0]!.to], [at(serving.addr), at(owner.addr)], 'the serving node forwards to the owner');
      }
      for (const hop of trace.path) {
        assert.ok(KINDS[protocol].includes(hop.kind), `${hop.kind} is a ${protocol} hop`);
        assert.ok(Number.isFinite(hop.ms) && hop.ms >= 0, `ms ${hop.ms}`);
        assert.ok(Number.isInteger(hop.shifts) && hop.shifts >= 0);
        const imaginary = protocol === 'koorde' && (hop.kind === 'debruijn' || hop.kind === 'correction');
        if (imaginary) assert.ok(/^0x[0-9a-f]+$/.test(hop.imaginary ?? '') && BigInt(hop.imaginary!) < space.size, `imaginary node ${hop.imaginary}`);
        else assert.equal(hop.imaginary, undefined);
      }
    }

    it('lists every member once, by id, with its share of the key space, status and the oracle’s routing tables', async () => {
      const expected = expectedTables(ids, RING);
      for (const serving of [nodes[0]!, nodes[5]!]) {
        const { status, body: view } = await json<ClusterView>(`${serving.http}/cluster`);
        assert.equal(status, 200);
        assert.deepEqual(view.self, { id: hex(ids.get(serving.addr)!), addr: serving.addr });
        assert.deepEqual([view.protocol, view.bits, view.size, view.truncated], [protocol, BITS, 8, false]);
        assert.deepEqual(
          view.members.map((m) => [m.id, m.addr]),
          oracle.sorted.map((n) => [hex(n.id), n.addr]),
        );
        let sum = 0;
        for (const [i, m] of view.members.entries()) {
          const previous = oracle.sorted.at(i - 1)!;
          assert.equal(m.share, Number(space.distance(previous.id, BigInt(m.id))) / Number(space.size), `share of ${m.addr}: (predecessor, id] over 2^${BITS}`);
          sum += m.share;
          const want = expected.get(m.addr)!;
          assert.equal(m.status, 'READY');
          assert.equal(m.predecessor, want.predecessor, `predecessor of ${m.addr}`);
          assert.deepEqual(m.successors, want.successors, `successors of ${m.addr}`);
          assert.deepEqual([...m.pointers].sort(), want.pointers, `${protocol === 'koorde' ? 'de Bruijn list' : 'fingers'} of ${m.addr}`);
          const node = nodes.find((n) => n.addr === m.addr)!;
          assert.equal(`http://127.0.0.1:${m.figures.http_port}`, node.http);
          for (const field of ['requests', 'by_x_cache', 'latency_ms_p50', 'latency_ms_p99', 'hops_avg', 'origin_fetches', 'cache_bytes', 'cache_entries', 'hit_rate', 'hot_urls', 'lookup_hops_avg']) {
            assert.ok(field in m.figures, `figures.${field} of ${m.addr}`);
          }
        }
        assert.ok(Math.abs(sum - 1) < 1e-12, `shares add up to ${sum}`);
      }
    });

    it('traces URLs and keys to the oracle’s owner along connected hops, and a request right after reports the same X-Hops', async () => {
      const serving = nodes[0]!; // no route cache: the trace and the request both look the owner up
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const url = `${base}/obj/trace-${protocol}-${i}`;
        const { status, body: trace } = await json<Trace>(`${serving.http}/trace?url=${encodeURIComponent(url)}`);
        assert.equal(status, 200);
        assert.equal(trace.url, url);
        assert.equal(trace.via, 'lookup');
        checkTrace(trace, serving, space.hash(url));
        for (const hop of trace.path) seen.add(hop.kind);
        const res = await viaCache(serving, url);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-hops'), String(trace.hops), `X-Hops of ${url}`);
        assert.equal(res.headers.get('x-responsible-node'), trace.owner.addr);
      }
      assert.ok(seen.has(protocol === 'koorde' ? 'debruijn' : 'finger'), `some lookup used ${protocol}'s long pointers: ${[...seen]}`);
      // Keys: a random one, and each member's own id (owned by that member).
      for (const key of [space.hash('some key'), ...oracle.sorted.map((n) => n.id)]) {
        const { status, body: trace } = await json<Trace>(`${serving.http}/trace?key=${space.toHex(key)}`);
        assert.equal(status, 200);
        assert.equal(trace.url, undefined);
        checkTrace(trace, serving, key);
      }
    });

    it('a node with a route cache traces the lookup once, then the remembered owner: one hop, as its requests report', async () => {
      const url = `${base}/obj/route-cache-${protocol}`;
      const key = space.hash(url);
      // Node 0 has no route cache, node 1 took bad queries only; any other one that does not own the URL.
      const serving = nodes.slice(2).find((n) => n.addr !== oracle.ownerOf(key).addr)!;
      const first = (await json<Trace>(`${serving.http}/trace?url=${encodeURIComponent(url)}`)).body;
      assert.equal(first.via, 'lookup');
      checkTrace(first, serving, key);
      // The trace filled the route cache as a request would: the request goes straight to the owner.
      const res = await viaCache(serving, url);
      assert.equal(res.headers.get('x-hops'), '1');
      const again = (await json<Trace>(`${serving.http}/trace?url=${encodeURIComponent(url)}`)).body;
      assert.equal(again.via, 'route-cache');
      assert.equal(again.hops, 1);
      assert.equal(again.path[0]!.kind, 'forward');
      checkTrace(again, serving, key);
    });

    it('answers bad /trace queries with 400 JSON', async () => {
      const cases = ['/trace', '/trace?key=', '/trace?url=', '/trace?key=zz', '/trace?key=0x', `/trace?key=4${'0'.repeat(16)}`, '/trace?url=not-a-url', `/trace?url=${encodeURIComponent('ftp://127.0.0.1/x')}`];
      for (const path of cases) {
        const res = await fetch(`${nodes[1]!.http}${path}`);
        assert.equal(res.status, 400, path);
        assert.match(res.headers.get('content-type')!, /application\/json/, path);
        const body = (await res.json()) as { error: string; message: string };
        assert.equal(body.error, 'invalid_argument', path);
        assert.ok(body.message.length > 0, path);
      }
    });
  });
}
