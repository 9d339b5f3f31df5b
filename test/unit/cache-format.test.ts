import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytes, formatCacheAnswer, formatHotspots, formatMetrics, preview } from '../../src/cli/cache-format.js';

describe('cli - cache-client output', () => {
  it('previews text as a quoted string and anything else as hex, cut at the limit', () => {
    assert.equal(preview(Buffer.from('hello\nworld'), 64), '"hello\\nworld"');
    assert.equal(preview(Buffer.from('abcdef'), 3), '"abc"…');
    assert.equal(preview(Buffer.from([0xff, 0xfe, 0xbe, 0xef]), 2), 'hex fffe…');
    assert.equal(preview(Buffer.from([0x41, 0x00]), 8), 'hex 4100');
  });

  it('sizes in binary units', () => {
    assert.deepEqual([0, 1023, 1024, 1536, 5 * 1024 ** 3].map(bytes), ['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '5.0 GiB']);
    assert.equal(bytes(undefined), '?');
  });

  it('shows a missing field as ? or - instead of failing', () => {
    const metrics = formatMetrics({ cache: { hits: 1 } });
    assert.match(metrics, /^node {9}\? {2}\? {2}\?$/m);
    assert.match(metrics, /hit rate \? {2}\(1 hits, \? misses\)/);
    assert.match(formatMetrics(null), /predecessor \?/);
    assert.equal(formatHotspots({}), '0 hot URLs');
    const answer = formatCacheAnswer({ status: 599, headers: {}, body: Buffer.alloc(0), latencyMs: 1 });
    assert.match(answer, /^status {7}599\nx-cache {6}-\nnode {9}-\nresponsible {2}-\nhops {9}-\nlatency {6}1\.0 ms\nbody {9}0 bytes$/);
  });
});
