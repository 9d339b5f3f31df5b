import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWorkload } from '../../src/workload/run.js';
import { NODE_SCRIPT, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { freePorts, waitFor } from '../helpers/processes.js';
import { ownerFinder, webClusterForSuite } from '../helpers/web.js';

const RING = { protocol: 'koorde' as const, degree: 4, idBits: 64, successors: 8 };
const REQUESTS = 600;

describe('web cache - churn costs almost no hit rate', () => {
  const cluster = webClusterForSuite(5, RING);

  /** The same Zipf(1.2) sequence every time, round-robin over the live nodes; returns the hit rate and the URLs asked for. */
  const workload = async () => {
    const urls = new Set<string>();
    const summary = await runWorkload({
      targets: cluster.nodes.map((n) => n.http),
      urls: 200,
      requests: REQUESTS,
      zipf: 1.2,
      seed: 3,
      concurrency: 8,
      urlTemplate: `${cluster.origin}/obj/{i}`,
      onSample: (sample) => urls.add(`${cluster.origin}/obj/${sample.urlId}`),
    });
    // Hit rate is over successful responses only: an error must fail the test, not vanish from it.
    assert.equal(summary.errors, 0, `errors by kind: ${JSON.stringify(summary.errors_by_kind)}`);
    return { hitRate: summary.hit_rate, urls };
  };

  it('kill one of 5 nodes and add one back: the hit rate drops by no more than the crashed node\'s objects', async (t) => {
    await workload(); // warm the cache
    const steady = await workload();

    // The victim is the node whose share of the key space is closest to 1/5, so the figure is typical.
    const view = (await (await fetch(`${cluster.nodes[0]!.http}/cluster`)).json()) as { members: { addr: string; share: number }[] };
    const typical = view.members.reduce((a, b) => (Math.abs(b.share - 0.2) < Math.abs(a.share - 0.2) ? b : a));
    const victim = cluster.nodes.find((n) => n.addr === typical.addr)!;
    const ownerOf = await ownerFinder(cluster.nodes, RING.idBits);
    const lost = [...steady.urls].filter((u) => ownerOf(u) === victim.addr).length;

    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    const [grpc, http] = await freePorts(2);
    const rest = cluster.nodes.filter((n) => n !== victim);
    const env = { ...rest[0]!.env, NODE_PORT: String(grpc), CACHE_HTTP_PORT: String(http), BOOTSTRAP_PEERS: rest.map((n) => n.addr).join(',') };
    const joiner: TestNode = { name: 'joiner', addr: `127.0.0.1:${grpc}`, http: `http://127.0.0.1:${http}`, env, proc: cluster.group.node('joiner', NODE_SCRIPT, [], env) };
    cluster.nodes = [...rest, joiner];
    await waitForStableRing(cluster.nodes, RING);
    await waitFor('the joiner READY', async () => (await fetch(`${joiner.http}/health`)).ok);

    const churned = await workload();
    const points = 100 * (steady.hitRate - churned.hitRate);
    const bound = (100 * lost) / REQUESTS;
    t.diagnostic(
      `hit rate without churn ${(100 * steady.hitRate).toFixed(1)} %, after a crash (share ${(100 * typical.share).toFixed(0)} %) and a join ` +
        `${(100 * churned.hitRate).toFixed(1)} %: ${points.toFixed(1)} points; the crash lost ${lost} objects (${bound.toFixed(1)} points at one miss each)`,
    );
    assert.ok(steady.hitRate > 0.95, `warm hit rate ${steady.hitRate}`);
    // One miss per object the crashed node held, and none for the range the joiner took over.
    assert.ok(points <= bound + 1, `lost ${points.toFixed(1)} points, more than the ${bound.toFixed(1)} its ${lost} objects explain`);
  });

  it("a graceful leave hands the node's objects to its successor: no origin request after it", async () => {
    const url = (i: number) => `${cluster.origin}/obj/leave-${i}`;
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${cluster.nodes[i % cluster.nodes.length]!.http}/cache?url=${encodeURIComponent(url(i))}`);
      await res.text();
      assert.equal(res.status, 200, url(i));
    }
    const stats = async () => ((await (await fetch(`${cluster.origin}/stats`)).json()) as { total: number }).total;
    const before = await stats();
    const leaver = cluster.nodes[0]!;
    leaver.proc.child.kill('SIGTERM');
    assert.equal(await leaver.proc.exited, 0);
    cluster.nodes = cluster.nodes.filter((n) => n !== leaver);
    await waitForStableRing(cluster.nodes, RING);
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${cluster.nodes[i % cluster.nodes.length]!.http}/cache?url=${encodeURIComponent(url(i))}`);
      await res.text();
      assert.equal(res.status, 200, url(i));
      assert.match(res.headers.get('x-cache')!, /^HIT-/, url(i));
    }
    assert.equal(await stats(), before, 'every object was still in the ring');
  });
});
