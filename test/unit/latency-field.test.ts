import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hundredths } from '../../src/cache/cache-service.js';

describe('cache service - X-Latency-Ms', () => {
  it('is the duration in ms with two decimals, rounded as toFixed(2) rounds', () => {
    for (const ms of [0, 0.004, 0.05, 0.3, 1, 9.99, 12.3, 99.996, 1234.567, 65_000.1]) {
      assert.equal(hundredths(ms), (Math.round(ms * 100) / 100).toFixed(2), String(ms));
    }
  });
});
