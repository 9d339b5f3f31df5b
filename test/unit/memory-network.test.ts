import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdSpace } from '../../src/id/id-space.js';
import type { Handlers } from '../../src/rpc/messages.js';
import { seededRng } from '../../src/runtime/rng.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { withDeadline } from '../../src/transport/deadline.js';
import { MemoryNetwork } from '../../src/transport/memory/memory-network.js';

function setup(lossRate = 0) {
  const clock = new VirtualClock();
  const network = new MemoryNetwork(clock, seededRng(1), { ids: new IdSpace(16), latencyMs: () => 10, lossRate });
  const handlers = { ping: async () => ({}) } as unknown as Handlers;
  void network.listener('b').listen(handlers);
  const transport = withDeadline(network.transport('a'), clock, 1000);
  return { clock, network, transport };
}

describe('transport - memory network', () => {
  it('delivers a request and its answer after one latency each way', async () => {
    const { clock, transport } = setup();
    const answer = await clock.complete(transport.call('b', 'ping', {}), 5000, 1);
    assert.deepEqual(answer, {});
    assert.equal(clock.now(), 20);
  });

  it('refuses connections to a crashed node after one latency', async () => {
    const { clock, network, transport } = setup();
    network.crash('b');
    await assert.rejects(clock.complete(transport.call('b', 'ping', {}), 5000, 1), { code: 'ERR_UNREACHABLE' });
    assert.equal(clock.now(), 10);
  });

  it('drops messages across a partition: the caller times out at its deadline', async () => {
    const { clock, network, transport } = setup();
    network.partition(['a'], ['b']);
    await assert.rejects(clock.complete(transport.call('b', 'ping', {}), 5000, 1), { code: 'ERR_TIMEOUT' });
    assert.equal(clock.now(), 1000);
    network.heal();
    assert.deepEqual(await clock.complete(transport.call('b', 'ping', {})), {});
  });

  it('loses about the configured share of messages', async () => {
    const { clock, transport } = setup(0.2);
    const outcomes = await clock.complete(Promise.allSettled(Array.from({ length: 1000 }, () => transport.call('b', 'ping', {}))));
    const lost = outcomes.filter((o) => o.status === 'rejected').length;
    // Each call has two messages: P(lost) = 1 − 0.8² = 0.36.
    assert.ok(lost > 300 && lost < 420, `${lost} of 1000 calls lost`);
  });
});

describe('sim - virtual clock', () => {
  it('fires timers in time order, ties in the order they were set', async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => fired.push('a'), 10);
    clock.setTimeout(() => fired.push('c'), 20);
    const cancelled = clock.setTimeout(() => fired.push('never'), 15);
    cancelled.cancel();
    await clock.advance(100);
    assert.deepEqual(fired, ['a', 'b', 'c']);
  });

  it('lets promise continuations run before later timers fire', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => clock.setTimeout(() => order.push('scheduled by continuation at 11'), 1));
    }, 10);
    clock.setTimeout(() => order.push('timer at 12'), 12);
    await clock.advance(100);
    assert.deepEqual(order, ['scheduled by continuation at 11', 'timer at 12']);
  });
});
