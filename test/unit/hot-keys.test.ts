import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HotKeys } from '../../src/cache/hot-keys.js';
import type { Clock } from '../../src/runtime/clock.js';

/** A clock the test moves by hand. */
function manualClock(): Clock & { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return { now: () => time, advance: (ms) => void (time += ms), setTimeout: () => ({ cancel: () => undefined }) };
}

describe('cache - hot keys (decayed request rates)', () => {
  it('marks a URL hot while its rate stays above the threshold and cools it once requests stop', () => {
    const clock = manualClock();
    const keys = new HotKeys(clock, 150, 0.65);
    let hot = keys.hit('http://o/a');
    for (let ms = 10; ms <= 3000 && !hot; ms += 10) {
      clock.advance(10);
      hot = keys.hit('http://o/a'); // 100 req/s
    }
    assert.ok(hot, 'hot within 3 s at 100 req/s');
    assert.deepEqual(keys.hot().map((h) => h.url), ['http://o/a']);
    clock.advance(5000);
    assert.deepEqual(keys.hot(), [], 'cold 5 s later');
  });

  it('keeps a hot URL hot while a flood of one-off URLs passes through the tracker', () => {
    const clock = manualClock();
    const keys = new HotKeys(clock, 150, 0.65);
    let hot = false;
    // 100 req/s for the hot URL, 10 000 new URLs a second: the tracker forgets every ~half second.
    for (let ms = 0; ms < 8000; ms++, clock.advance(1)) {
      for (let k = 0; k < 10; k++) keys.hit(`http://o/once/${ms}/${k}`);
      if (ms % 10 === 0) hot = keys.hit('http://o/hot');
    }
    assert.ok(hot, 'never forgotten (a forgotten URL starts again from one request)');
    assert.deepEqual(keys.hot().map((h) => h.url), ['http://o/hot']);
  });
});
