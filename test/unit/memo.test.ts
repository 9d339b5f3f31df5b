import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sharedFor } from '../../src/runtime/memo.js';
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
