import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DhtNode } from '../../src/node/dht-node.js';
import type { Simulation } from '../../src/sim/simulation.js';
import { createRing, unreadable } from '../helpers/ring.js';

const R = 3;
const options = { protocol: 'koorde' as const, degree: 4, idBits: 64, replicationFactor: R, storageFixIntervalMs: 3000, maintain: true };

function pick(sim: Simulation): DhtNode {
  return sim.nodes[sim.rng.int(sim.nodes.length)]!;
}

async function putAll(sim: Simulation, count: number): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  await sim.clock.complete(
    Promise.all(
      Array.from({ length: count }, async (_, i) => {
        await pick(sim).store.put(`key-${i}`, `value-${i}`);
        written.set(`key-${i}`, `value-${i}`);
      }),
    ),
  );
  return written;
}

/** How many live nodes hold each key (tombstones count as copies of a delete). */
function copies(sim: Simulation, keys: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, sim.nodes.filter((n) => n.store.items.get(key)).length);
  return counts;
}

describe('storage - replicated key-value store (simulated ring)', () => {
  it('stores, reads, overwrites and deletes through any node', async () => {
    const sim = await createRing(12, { ...options, seed: 1 });
    const a = sim.nodes[0]!;
    const b = sim.nodes[7]!;
    await sim.clock.complete(a.store.put('greeting', 'hello'));
    assert.equal(await sim.clock.complete(b.store.get('greeting')), 'hello');
    await sim.clock.complete(b.store.put('greeting', 'bonjour'));
    assert.equal(await sim.clock.complete(a.store.get('greeting')), 'bonjour');
    await sim.clock.complete(a.store.delete('greeting'));
    await assert.rejects(sim.clock.complete(b.store.get('greeting')), { code: 'ERR_NOT_FOUND' });
    await assert.rejects(sim.clock.complete(b.store.get('never-written')), { code: 'ERR_NOT_FOUND' });
  });

  it('an acknowledged put is on its owner and at least one replica', async () => {
    const sim = await createRing(16, { ...options, seed: 2 });
    const written = await putAll(sim, 200);
    for (const [key, n] of copies(sim, written.keys())) assert.ok(n >= 2, `${key} has ${n} copies right after the ack`);
    await sim.clock.advance(1000);
    for (const [key, n] of copies(sim, written.keys())) assert.equal(n, R, `${key} has ${n} copies`);
  });

  it('loses nothing when two non-adjacent nodes crash, and repair restores R copies', async () => {
    const sim = await createRing(16, { ...options, seed: 3 });
    const written = await putAll(sim, 300);
    const ring = sim.oracle().sorted;
    sim.crash(sim.node(ring[2]!.addr)!);
    sim.crash(sim.node(ring[9]!.addr)!);
    assert.deepEqual(await unreadable(sim, written, sim.nodes.slice(0, 4)), []);
    assert.ok(await sim.converge(30_000), 'the ring converged after the crashes');
    await sim.clock.advance(3 * options.storageFixIntervalMs);
    assert.deepEqual(await unreadable(sim, written), []);
    const wrong = [...copies(sim, written.keys())].filter(([, n]) => n !== R);
    assert.deepEqual(wrong, [], 'every key back to R copies');
  });

  it('a graceful leave hands its range to the successor, and a join takes its range over', async () => {
    const sim = await createRing(10, { ...options, seed: 4 });
    const written = await putAll(sim, 200);
    const leaver = sim.nodes[3]!;
    const owned = [...written.keys()].filter((k) => sim.oracle().ownerOf(sim.nodes[0]!.ids.hash(k)).addr === leaver.self.addr);
    assert.ok(owned.length > 0);
    await sim.leave(leaver);
    assert.deepEqual(await unreadable(sim, written, sim.nodes.slice(0, 3)), []);
    const successor = sim.oracle().ownerOf(sim.nodes[0]!.ids.hash(owned[0]!));
    for (const key of owned) assert.ok(sim.node(successor.addr)!.store.items.get(key), `${key} handed to the new owner`);

    // The joiner takes the middle of the widest interval, so it certainly takes some keys over.
    const sorted = sim.oracle().sorted;
    const ids = sim.nodes[0]!.ids;
    const widest = sorted.map((n, i) => ({ from: n.id, span: ids.distance(n.id, sorted[(i + 1) % sorted.length]!.id) })).reduce((a, b) => (b.span > a.span ? b : a));
    const joiner = await sim.join(ids.wrap(widest.from + widest.span / 2n));
    assert.ok(await sim.converge(30_000), 'the ring converged after the join');
    await sim.clock.advance(2 * options.storageFixIntervalMs);
    const mine = [...written.keys()].filter((k) => sim.oracle().ownerOf(joiner.ids.hash(k)).addr === joiner.self.addr);
    assert.ok(mine.length > 0, 'the joiner owns some keys');
    for (const key of mine) assert.equal(joiner.store.items.get(key)?.value, written.get(key), `${key} moved to the joiner`);
    const wrong = [...copies(sim, written.keys())].filter(([, n]) => n !== R);
    assert.deepEqual(wrong, [], 'replicas that left the replica set dropped their copies');
  });

  it('a leaving node gives the pairs it holds outside its own range to their owners, so a pair whose only copy it holds survives', async () => {
    // A repair round on a stale view may leave the only copy of an acknowledged pair with a node
    // that replicates it (or by then owns nothing of it); that node must not drop it when it leaves.
    const sim = await createRing(10, { ...options, seed: 5 });
    const sorted = sim.oracle().sorted;
    const leaver = sim.node(sorted[4]!.addr)!;
    const ids = leaver.ids;
    const keys = Array.from({ length: 400 }, (_, i) => `lone-${i}`);
    const ownerIndex = (key: string) => sorted.indexOf(sim.oracle().ownerOf(ids.hash(key)));
    const replicated = keys.filter((k) => [2, 3].includes(ownerIndex(k))).slice(0, 5); // leaver is their 3rd or 2nd copy
    const foreign = keys.filter((k) => ownerIndex(k) === 7).slice(0, 5); // leaver holds it by mistake
    assert.equal(replicated.length + foreign.length, 10);
    const written = new Map([...replicated, ...foreign].map((k) => [k, `value of ${k}`]));
    for (const [key, value] of written) leaver.store.items.merge({ key, value, version: sim.clock.now(), deleted: false });

    await sim.leave(leaver);
    assert.deepEqual(await unreadable(sim, written), []);
    await sim.clock.advance(2 * options.storageFixIntervalMs);
    const wrong = [...copies(sim, written.keys())].filter(([, n]) => n !== R);
    assert.deepEqual(wrong, [], 'repair spreads them to R copies');
  });

  it('a node that learned "every key" on a ring of r nodes stops taking strangers\' keys once nodes join behind it', async () => {
    // No repair round in this test: the span must narrow without one.
    const sim = await createRing(2, { ...options, replicationFactor: 2, storageFixIntervalMs: 3_600_000, seed: 6 });
    const [first, second] = sim.oracle().sorted;
    const node = sim.node(second!.addr)!;
    const ids = node.ids;
    assert.ok(await sim.clock.complete(node.covers(ids.wrap(second!.id + 1n))), 'on a ring of two, each node replicates the other');
    // Two nodes join after it, so its predecessor stays the same; the first joiner owns a key it no longer replicates.
    const gap = ids.distance(second!.id, first!.id);
    const joiner = await sim.join(ids.wrap(second!.id + gap / 3n));
    await sim.join(ids.wrap(second!.id + (2n * gap) / 3n));
    assert.ok(await sim.converge(30_000), 'the ring converged after the joins');
    assert.equal(node.ring.predecessor?.addr, first!.addr);
    await sim.clock.advance(2_000);
    assert.equal(await sim.clock.complete(node.covers(joiner.self.id)), false);
    assert.equal(await sim.clock.complete(node.covers(first!.id)), true, 'it still replicates its predecessor');
  });
});
