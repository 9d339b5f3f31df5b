import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { waitForStableRing } from '../helpers/node-cluster.js';
import { originCount, ownerFinder, viaCache, webClusterForSuite } from '../helpers/web.js';

const RING = { protocol: 'chord' as const, degree: 2, idBits: 66, successors: 8 };
const OBJECTS = 10;
const SIZE = 8 * 1024 * 1024;

describe('large objects - a leaving node hands 10 × 8 MiB to its successor', () => {
  // 8 MiB objects must be storable: 9 MiB per object, room for all ten on one node, and no
  // memory ceiling that could evict them while the test looks.
  const cluster = webClusterForSuite(3, { ...RING, env: { CACHE_MAX_OBJECT_MB: '9', CACHE_CAPACITY_MB: '256', CACHE_MEMORY_LIMIT_MB: 'none' } });

  it('after SIGTERM every object is a hit at the successor, with no origin request', async () => {
    const [leaver, ...rest] = cluster.nodes as [(typeof cluster.nodes)[0], ...typeof cluster.nodes];
    const ownerBefore = await ownerFinder(cluster.nodes, RING.idBits);
    const paths: string[] = [];
    for (let i = 0; paths.length < OBJECTS; i++) {
      const path = `/obj/large-${i}?size=${SIZE}`;
      if (ownerBefore(`${cluster.origin}${path}`) === leaver.addr) paths.push(path);
    }
    const digests = new Map<string, string>();
    for (const path of paths) {
      const first = await viaCache(leaver, `${cluster.origin}${path}`);
      assert.equal(first.status, 200, path);
      assert.equal(first.xCache, 'MISS-ORIGIN', path);
      assert.equal(Buffer.byteLength(first.body), SIZE, path);
      digests.set(path, sha256(first.body));
      assert.equal((await viaCache(leaver, `${cluster.origin}${path}`)).xCache, 'HIT-LOCAL', `${path} stored at its owner`);
    }

    leaver.proc.child.kill('SIGTERM');
    assert.equal(await leaver.proc.exited, 0, `a clean leave:\n${leaver.proc.output()}`);
    cluster.nodes = rest;
    await waitForStableRing(cluster.nodes, RING);

    const ownerAfter = await ownerFinder(cluster.nodes, RING.idBits);
    const successors = new Set(paths.map((path) => ownerAfter(`${cluster.origin}${path}`)));
    assert.equal(successors.size, 1, 'one successor took the whole range over');
    const successor = cluster.nodes.find((n) => successors.has(n.addr))!;
    const other = cluster.nodes.find((n) => n !== successor)!;
    for (const path of paths) {
      const local = await viaCache(successor, `${cluster.origin}${path}`);
      assert.equal(local.status, 200, path);
      assert.equal(local.xCache, 'HIT-LOCAL', `${path} at the successor`);
      assert.equal(sha256(local.body), digests.get(path), `${path}: the same bytes`);
      const forwarded = await viaCache(other, `${cluster.origin}${path}`);
      assert.equal(forwarded.xCache, 'HIT-DHT', `${path} through the other node`);
      assert.equal(sha256(forwarded.body), digests.get(path), `${path}: the same bytes, forwarded`);
      assert.equal(await originCount(cluster.origin, path), 1, `${path}: fetched from the origin once, before the leave`);
    }
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
