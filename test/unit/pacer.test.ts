import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '../../src/runtime/clock.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { LATE_TOLERANCE_MS, pace, type PaceInit } from '../../src/workload/pacer.js';

/** Runs `pace` on virtual time with a target that takes `serviceMs` per request. */
async function paced(init: PaceInit, serviceMs: (index: number) => number) {
  const clock = new VirtualClock();
  const starts: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const report = await clock.complete(
    pace(clock, init, async (index) => {
      starts.push(clock.now());
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await sleep(clock, serviceMs(index));
      inFlight--;
    }),
  );
  return { report, starts, maxInFlight, end: clock.now() };
}

describe('workload - pacer', () => {
  it('open loop: request i starts at i / rate, however long requests take', async () => {
    const { report, starts, maxInFlight } = await paced({ rate: 100, concurrency: 10, durationMs: 1000 }, () => 45);
    assert.equal(report.started, 100);
    assert.deepEqual(starts, Array.from({ length: 100 }, (_, i) => i * 10));
    assert.equal(maxInFlight, 5); // 45 ms of service at one start per 10 ms
    assert.deepEqual([report.lateStarts, report.capWaits, report.maxLagMs], [0, 0, 0]);
  });

  it('open loop: counts late starts when the concurrency cap holds requests back', async () => {
    // Two slots of 50 ms each serve 40 req/s; 100 req/s are asked for.
    const { report, maxInFlight } = await paced({ rate: 100, concurrency: 2, count: 100 }, () => 50);
    assert.equal(report.started, 100);
    assert.equal(maxInFlight, 2);
    assert.ok(report.capWaits >= 95, `${report.capWaits} cap waits`);
    assert.ok(report.lateStarts >= 90, `${report.lateStarts} late`);
    // Request 99 (due at 990 ms) gets the second slot of the 50th round: 49 × 50 + 10 ms.
    assert.equal(report.maxLagMs, 49 * 50 + 10 - 990);
  });

  it('open loop: a short stall is tolerated, a long one is reported', async () => {
    // Request 5 holds the only slot 5 ms past the tolerance; request 6 waits that long, 7 only 6 ms.
    const { report } = await paced({ rate: 100, concurrency: 1, count: 20 }, (i) => (i === 5 ? 10 + LATE_TOLERANCE_MS + 5 : 1));
    assert.equal(report.capWaits, 2);
    assert.equal(report.lateStarts, 1);
    assert.equal(report.maxLagMs, LATE_TOLERANCE_MS + 5);
  });

  it('open loop: hands each request its due time, so latency from it counts the wait behind the cap', async () => {
    const clock = new VirtualClock();
    const latencies: number[] = [];
    await clock.complete(
      pace(clock, { rate: 100, concurrency: 1, count: 5 }, async (_index, scheduledAt) => {
        await sleep(clock, 50);
        latencies.push(clock.now() - scheduledAt);
      }),
    );
    // One 50 ms slot serves 20 req/s: request i is due at 10·i ms and answered at 50·(i+1) ms.
    assert.deepEqual(latencies, [50, 90, 130, 170, 210]);
  });

  it('closed loop: a request is scheduled when it starts', async () => {
    const clock = new VirtualClock();
    const scheduled: number[] = [];
    await clock.complete(
      pace(clock, { concurrency: 2, count: 6 }, async (_index, scheduledAt) => {
        scheduled.push(scheduledAt);
        await sleep(clock, 10);
      }),
    );
    assert.deepEqual(scheduled, [0, 0, 10, 10, 20, 20]);
  });

  it('closed loop: keeps exactly `concurrency` requests in flight until the duration ends', async () => {
    const { report, maxInFlight, end } = await paced({ concurrency: 4, durationMs: 1000 }, () => 10);
    assert.equal(maxInFlight, 4);
    assert.equal(report.started, 400);
    assert.equal(end, 1000);
    assert.deepEqual([report.lateStarts, report.capWaits], [0, 0]);
  });

  it('stops starting requests when its signal aborts, and lets those in flight finish', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    let finished = 0;
    const run = pace(clock, { rate: 10, concurrency: 5, signal: controller.signal }, async (index) => {
      if (index === 4) controller.abort();
      await sleep(clock, 300);
      finished++;
    });
    const report = await clock.complete(run);
    assert.equal(report.started, 5);
    assert.equal(finished, 5);
  });

  it('rethrows a failed send after the rest have settled', async () => {
    const clock = new VirtualClock();
    let finished = 0;
    const run = pace(clock, { concurrency: 3, count: 6 }, async (index) => {
      await sleep(clock, 10);
      if (index === 1) throw new Error('boom');
      finished++;
    });
    await assert.rejects(clock.complete(run), /boom/);
    assert.equal(finished, 5);
  });
});
