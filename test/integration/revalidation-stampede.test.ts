import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import type { OriginStats } from '../../src/synthetic/origin-server.js';
import type { TestNode } from '../helpers/node-cluster.js';
import { originCount, ownerFinder, viaCache, webClusterForSuite, type Fetched } from '../helpers/web.js';

const RING = { protocol: 'koorde' as const, degree: 2, idBits: 66, successors: 8 };
const CLIENTS = 50;
/**
 * The origin answers this object after 2 s, the conditional request too: the 50 requests reach
 * the owner while its one revalidation is in flight, and any that come later still find the
 * refreshed copy fresh (max-age=1 counts from the 304).
 */
const QUERY = '?cc=public%2C%20max-age%3D1&delay=2000';

describe('revalidation stampede - 50 concurrent requests for one stale object', () => {
  const cluster = webClusterForSuite(3, RING);

  /** Stores the object at its owner, then waits until its max-age=1 has passed. */
  const staleObject = async (path: string, entry: TestNode): Promise<Fetched> => {
    const first = await viaCache(entry, `${cluster.origin}${path}`);
    assert.equal(first.status, 200);
    assert.ok(first.headers.get('etag'), 'the origin gave an ETag to revalidate with');
    await sleep(1500); // the one wait on the clock: freshness is a matter of time
    return first;
  };

  const notModifiedCount = async () => ((await (await fetch(`${cluster.origin}/stats`)).json()) as OriginStats).by_status['304'] ?? 0;

  const assertOneConditional = async (t: TestContext, path: string, first: Fetched, answers: readonly Fetched[], allowed: readonly string[]) => {
    const requests = (await originCount(cluster.origin, path)) - 1;
    const byXCache = count(answers.map((a) => a.xCache ?? 'none'));
    t.diagnostic(`origin requests after staleness: ${requests}; X-Cache of the ${CLIENTS} answers: ${JSON.stringify(byXCache)}`);
    assert.equal(requests, 1, `origin requests for ${CLIENTS} clients of a stale object: ${requests}; X-Cache: ${JSON.stringify(byXCache)}`);
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.equal(answer.body, first.body);
      assert.ok(allowed.includes(answer.xCache!), `X-Cache ${answer.xCache}, expected one of ${allowed.join(', ')}`);
    }
    assert.ok(answers.some((a) => a.xCache === 'REVALIDATED'), `someone waited for the revalidation: ${JSON.stringify(byXCache)}`);
  };

  it('through the owner: one conditional request, answered 304; every client gets the body', async (t) => {
    const path = `/obj/stale-local${QUERY}`;
    const ownerOf = await ownerFinder(cluster.nodes, RING.idBits);
    const entry = cluster.nodes.find((n) => n.addr === ownerOf(`${cluster.origin}${path}`))!;
    const first = await staleObject(path, entry);
    const before = await notModifiedCount();
    const answers = await Promise.all(Array.from({ length: CLIENTS }, () => viaCache(entry, `${cluster.origin}${path}`)));
    await assertOneConditional(t, path, first, answers, ['REVALIDATED', 'HIT-LOCAL']);
    assert.equal((await notModifiedCount()) - before, 1, 'the one request was conditional and the origin answered 304');
  });

  it('through two entry nodes that forward to the owner: still one conditional request', async (t) => {
    const ownerOf = await ownerFinder(cluster.nodes, RING.idBits);
    let path = '';
    for (let i = 0; ; i++) {
      path = `/obj/stale-forwarded-${i}${QUERY}`;
      if (ownerOf(`${cluster.origin}${path}`) === cluster.nodes[2]!.addr) break;
    }
    const entries = [cluster.nodes[0]!, cluster.nodes[1]!];
    const first = await staleObject(path, entries[0]!);
    const before = await notModifiedCount();
    const answers = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => viaCache(entries[i % 2]!, `${cluster.origin}${path}`)));
    await assertOneConditional(t, path, first, answers, ['REVALIDATED', 'HIT-DHT']);
    assert.equal((await notModifiedCount()) - before, 1, 'the one request was conditional and the origin answered 304');
  });
});

function count(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
