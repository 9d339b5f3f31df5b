import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdSpace } from '../../src/id/id-space.js';
import type { NodeRef } from '../../src/id/node-ref.js';
import { DhtError, errorCode } from '../../src/errors.js';
import { lookup, type LookupDeps } from '../../src/routing/lookup.js';
import type { RouteStep } from '../../src/routing/route-step.js';

const node = (name: string, id: number): NodeRef => ({ id: BigInt(id), addr: name });
const [a, b, c, d, owner] = [node('a', 1), node('b', 2), node('c', 3), node('d', 4), node('owner', 5)];
const forward = (...candidates: NodeRef[]): RouteStep => ({ done: false, hop: 'finger', candidates, shifts: 0, successors: [] });
const done: RouteStep = { done: true, successors: [owner] };

/** Deps whose remote steps come from a table; a node missing from it is dead. */
function network(steps: Record<string, RouteStep>, calls: string[] = []): LookupDeps {
  return {
    self: a,
    ids: new IdSpace(8),
    localStep: () => steps['a']!,
    remoteStep: async (to) => {
      calls.push(to.addr);
      const step = steps[to.addr];
      if (!step) throw new DhtError('ERR_UNREACHABLE', `${to.addr} is dead`);
      return step;
    },
    now: () => 0,
  };
}

describe('routing - lookup driver', () => {
  it('ends at the node that knows the owner and counts its moves', async () => {
    const result = await lookup(1n, network({ a: forward(b), b: forward(c), c: done }), { maxHops: 10 });
    assert.equal(result.owner.addr, 'owner');
    assert.equal(result.predecessor.addr, 'c');
    assert.equal(result.hops, 2);
    assert.deepEqual(result.path.map((h) => `${h.from.addr}>${h.to.addr}`), ['a>b', 'b>c']);
  });

  it('answers from the source itself with no hops when it knows the owner', async () => {
    const result = await lookup(1n, network({ a: done }), { maxHops: 10 });
    assert.equal(result.hops, 0);
    assert.equal(result.predecessor.addr, 'a');
  });

  it('tries the next-best candidate of the same step when the best is dead', async () => {
    const calls: string[] = [];
    const result = await lookup(1n, network({ a: forward(b, c), c: done }, calls), { maxHops: 10 });
    assert.deepEqual(calls, ['b', 'c']);
    assert.equal(result.fallbacks, 1);
    assert.equal(result.hops, 1);
  });

  it('goes back to the previous step, not to the start, when a whole step is dead', async () => {
    const calls: string[] = [];
    const steps = { a: forward(b, d), b: forward(c), d: done };
    const result = await lookup(1n, network(steps, calls), { maxHops: 10 });
    assert.deepEqual(calls, ['b', 'c', 'd']);
    assert.equal(result.predecessor.addr, 'd');
    assert.equal(result.fallbacks, 1);
  });

  it("ends at a node whose only way forward died, when the key falls within that node's successor list", async () => {
    // b's successor c just died; the key (id 4) lies in (c, d]: b's list already names d as its owner.
    const stale: RouteStep = { done: false, hop: 'successor', candidates: [c], shifts: 0, successors: [c, d, owner] };
    const result = await lookup(4n, network({ a: forward(b), b: stale }), { maxHops: 10 });
    assert.equal(result.predecessor.addr, 'b');
    assert.deepEqual(result.successors.map((n) => n.addr), ['d', 'owner']);
    assert.equal(result.fallbacks, 1);
  });

  it('fails with ERR_LOOKUP_FAILED when no candidate anywhere answers', async () => {
    await assert.rejects(lookup(1n, network({ a: forward(b, c) }), { maxHops: 10 }), { code: 'ERR_LOOKUP_FAILED' });
  });

  it('stops a routing loop at the hop budget', async () => {
    const steps = { a: forward(b), b: forward(c), c: forward(b) };
    await assert.rejects(lookup(1n, network(steps), { maxHops: 7 }), { code: 'ERR_HOP_BUDGET' });
  });

  it('fails with ERR_INTERNAL at once when its own router throws, instead of trying the next candidate', async () => {
    const calls: string[] = [];
    const bug = new TypeError("Cannot read properties of undefined (reading 'id')");
    const deps: LookupDeps = {
      ...network({ a: forward(b, c), c: done }, calls),
      remoteStep: async (to) => {
        calls.push(to.addr);
        throw bug; // a bug of this node, not a sign that b died: c would only meet it again
      },
    };
    await assert.rejects(lookup(1n, deps, { maxHops: 10 }), (err) => err === bug && errorCode(err) === 'ERR_INTERNAL');
    assert.deepEqual(calls, ['b']);
  });

  it("tries the next candidate when a peer answers with its own ERR_INTERNAL: that failure is the peer's", async () => {
    const calls: string[] = [];
    const base = network({ a: forward(b, c), c: done }, calls);
    const deps: LookupDeps = {
      ...base,
      remoteStep: async (to, key, carry, signal) => {
        if (to.addr !== 'b') return base.remoteStep(to, key, carry, signal);
        calls.push(to.addr);
        throw new DhtError('ERR_INTERNAL', 'findNext to b: the peer failed inside');
      },
    };
    const result = await lookup(1n, deps, { maxHops: 10 });
    assert.deepEqual(calls, ['b', 'c']);
    assert.equal(result.owner.addr, 'owner');
    assert.equal(result.fallbacks, 1);
  });

  it('stops at once when the caller aborts, without trying fallbacks', async () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const deps: LookupDeps = {
      ...network({ a: forward(b, c) }, calls),
      remoteStep: async (to) => {
        calls.push(to.addr);
        controller.abort(new DhtError('ERR_ABORTED', 'shutting down'));
        throw controller.signal.reason;
      },
    };
    await assert.rejects(lookup(1n, deps, { maxHops: 10, signal: controller.signal }), { code: 'ERR_ABORTED' });
    assert.deepEqual(calls, ['b']);
  });
});
