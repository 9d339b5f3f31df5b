import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FetchLimiter } from '../../src/cache/origin/fetch-limiter.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

/** Whether a promise has settled, after the microtasks queued so far ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('origin - FetchLimiter', () => {
  const limits = { maxConcurrent: 2, maxPerHost: 1, maxQueued: 2, queueTimeoutMs: 1000 };

  it('bounds requests overall and per host, admitting waiters oldest first as slots free up', async () => {
    const limiter = new FetchLimiter(new VirtualClock(), limits);
    const releaseA = await limiter.acquire('http://a');
    const secondA = limiter.acquire('http://a');
    assert.equal(await settled(secondA), false, 'one per host');
    const releaseB = await limiter.acquire('http://b');
    const c = limiter.acquire('http://c');
    assert.equal(await settled(c), false, 'two overall');
    assert.deepEqual(limiter.load, { active: 2, queued: 2 });
    releaseA();
    // The oldest waiter (a) fits again; c still waits for the overall limit.
    const releaseSecondA = await secondA;
    assert.equal(await settled(c), false);
    releaseB();
    (await c)();
    releaseSecondA();
    assert.deepEqual(limiter.load, { active: 0, queued: 0 });
  });

  it('refuses at once with ERR_OVERLOADED when the queue is full, and after waiting too long', async () => {
    const clock = new VirtualClock();
    const limiter = new FetchLimiter(clock, { ...limits, maxConcurrent: 1 });
    await limiter.acquire('http://a');
    const waiting = [limiter.acquire('http://b'), limiter.acquire('http://c')];
    for (const w of waiting) w.catch(() => {});
    await assert.rejects(limiter.acquire('http://d'), { code: 'ERR_OVERLOADED', message: /too many origin requests waiting/ });
    await clock.advance(1000);
    for (const w of waiting) await assert.rejects(w, { code: 'ERR_OVERLOADED', message: /waited 1000 ms/ });
    assert.deepEqual(limiter.load, { active: 1, queued: 0 });
  });

  it('a waiter whose client gave up leaves the queue', async () => {
    const limiter = new FetchLimiter(new VirtualClock(), { ...limits, maxConcurrent: 1 });
    const release = await limiter.acquire('http://a');
    const gone = new AbortController();
    const waiting = limiter.acquire('http://b', gone.signal);
    gone.abort(new Error('client went away'));
    await assert.rejects(waiting, /client went away/);
    release();
    assert.deepEqual(limiter.load, { active: 0, queued: 0 });
  });
});
