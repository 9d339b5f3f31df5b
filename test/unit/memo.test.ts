import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recentResults, sharedFor } from '../../src/runtime/memo.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

describe('runtime - sharedFor (the /cluster view cache)', () => {
  it('runs once for concurrent callers, reuses the result for its lifetime, then runs again', async () => {
    const clock = new VirtualClock();
    let runs = 0;
    const view = sharedFor(clock, 2000, async () => ++runs);
    assert.deepEqual(await Promise.all([view(), view(), view()]), [1, 1, 1]);
    await clock.advance(1999);
    assert.equal(await view(), 1, 'still fresh');
    await clock.advance(1);
    assert.equal(await view(), 2);
  });

  it('does not keep a failure', async () => {
    const clock = new VirtualClock();
    let runs = 0;
    const view = sharedFor(clock, 2000, async () => {
      if (++runs === 1) throw new Error('a member did not answer');
      return runs;
    });
    await assert.rejects(view(), /did not answer/);
    assert.equal(await view(), 2);
  });
});

describe('runtime - recentResults (per-request parsing remembered for recent URLs)', () => {
  it('computes a recent argument once, forgets old ones, and never keeps long ones', () => {
    const computed: string[] = [];
    const length = recentResults(8, 10, (key) => (computed.push(key), key.length));
    assert.deepEqual([length('a'), length('bb'), length('a')], [1, 2, 1]);
    assert.deepEqual(computed, ['a', 'bb']);
    // Asked for again within every 4 distinct arguments: never computed again.
    for (let i = 0; i < 40; i++) {
      length(`k${i}`);
      if (i % 3 === 0) length('a');
    }
    assert.equal(computed.filter((k) => k === 'a').length, 1);
    // 'bb' was not asked for in 40 new arguments: forgotten, so memory stays bounded.
    length('bb');
    assert.equal(computed.filter((k) => k === 'bb').length, 2);
    length('long-argument');
    length('long-argument');
    assert.equal(computed.filter((k) => k === 'long-argument').length, 2);
  });
});
