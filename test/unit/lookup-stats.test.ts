import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LookupResult } from '../../src/routing/lookup.js';
import { LookupStats } from '../../src/routing/lookup-stats.js';

const node = (addr: string) => ({ id: 1n, addr });
const hop = (kind: 'debruijn' | 'successor', ms: number) => ({ from: node('a'), to: node('b'), kind, shifts: 0, startedAt: 0, ms });

function result(path: ReturnType<typeof hop>[], failedHops: { kind: 'debruijn' | 'successor'; ms: number }[]): LookupResult {
  const hopsByKind = { finger: 0, successor: 0, debruijn: 0, correction: 0 };
  for (const h of path) hopsByKind[h.kind]++;
  return { key: 1n, owner: node('o'), predecessor: node('p'), successors: [node('o')], hops: path.length, hopsByKind, fallbacks: failedHops.length, path, failedHops };
}

describe('routing - lookup stats - the reference per-kind latencies', () => {
  it('averages answered de Bruijn hops, failed de Bruijn attempts and successor hops separately', () => {
    const stats = new LookupStats();
    assert.equal(stats.meanHopMs('debruijn'), 0, 'zero before any lookup, not NaN');
    stats.record(result([hop('debruijn', 2), hop('debruijn', 4), hop('successor', 10)], [{ kind: 'debruijn', ms: 500 }]));
    stats.record(result([hop('debruijn', 6)], [{ kind: 'debruijn', ms: 300 }, { kind: 'successor', ms: 1000 }]));
    assert.equal(stats.meanHopMs('debruijn'), 4);
    assert.equal(stats.meanFailedHopMs('debruijn'), 400);
    assert.equal(stats.meanHopMs('successor'), 10);
    assert.equal(stats.meanFailedHopMs('successor'), 1000);
  });
});
