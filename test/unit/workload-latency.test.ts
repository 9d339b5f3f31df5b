import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { runWorkload } from '../../src/workload/run.js';
import { startHttpServer } from '../helpers/http-server.js';

describe('cache-workload - latency from the scheduled start', () => {
  const SERVICE_MS = 40;
  let closeServer: (() => Promise<void>) | undefined;
  after(() => closeServer?.());

  it('open loop: a target slower than the offered rate shows its queue in the latency, and the pacing figures say so', async () => {
    const server = await startHttpServer((_req, res) => void setTimeout(() => res.end('x'), SERVICE_MS));
    closeServer = server.close;
    // One connection at a time serves 25 req/s; 100 req/s are offered.
    const summary = await runWorkload({ targets: [server.url], rate: 100, concurrency: 1, requests: 5, urlTemplate: 'http://127.0.0.1:9/obj/{i}' });
    assert.equal(summary.ok, 5);
    // Request i is due at 10·i ms but cannot start before i answers took SERVICE_MS each, so its
    // latency from the due time is at least (i + 1)·SERVICE_MS − 10·i; the last one's is ≥ 160 ms,
    // where latency from the actual start would stay near SERVICE_MS.
    assert.ok(summary.latency_ms.max >= 5 * SERVICE_MS - 40 - 2, `max ${summary.latency_ms.max} ms`);
    assert.ok(summary.latency_ms.p50 >= 3 * SERVICE_MS - 20 - 2, `p50 ${summary.latency_ms.p50} ms`);
    assert.ok(summary.cap_waits >= 4, `${summary.cap_waits} cap waits`);
    assert.ok(summary.late_starts >= 3, `${summary.late_starts} late starts`);
  });
});
