import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, describe, it } from 'node:test';
import { SyntheticOrigin } from '../../src/synthetic/origin-server.js';
import { startNodes, waitForStableRing } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';
import { ownerOf, viaCache } from '../helpers/web.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

const RING = { protocol: 'koorde' as const, degree: 2, idBits: 66, successors: 8 };

describe('tracing - OpenTelemetry spans per request and per hop, over OTLP/HTTP', () => {
  const group = new ProcessGroup();
  const origin = new SyntheticOrigin({ port: 0 });
  const spans: OtlpSpan[] = [];
  // A stand-in OTLP/HTTP collector on loopback that keeps what it is sent.
  const collector = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const payload = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const r of payload.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  after(async () => {
    await group.stopAll();
    await origin.close();
    collector.close();
  });

  it('a request through a non-owner gives one trace: entry span, lookup hops, the owner serving, the origin fetch', async () => {
    const base = await origin.listen();
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(collector.address() as { port: number }).port}/v1/traces`;
    const nodes = await startNodes(group, 3, { ...RING, env: { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1', TRACING_ENABLED: 'true', TRACING_ENDPOINT: endpoint, CACHE_ROUTE_CACHE: 'false' } });
    await waitForStableRing(nodes, RING);
    await waitFor('nodes READY', async () => (await Promise.all(nodes.map((n) => fetch(`${n.http}/health`)))).every((r) => r.ok));

    // A URL whose owner is not the entry node, so the request is forwarded.
    let url = '';
    for (let i = 0; ; i++) {
      url = `${base}/obj/traced-${i}`;
      if ((await ownerOf(nodes, url)) !== nodes[0]!.addr) break;
    }
    const answer = await viaCache(nodes[0]!, url);
    assert.equal(answer.xCache, 'MISS-DHT');
    // Leaving flushes the batched spans before the process exits: once each node has exited
    // cleanly, its spans are at the collector. One at a time, so every leave has a live successor.
    for (const node of nodes) {
      node.proc.child.kill('SIGTERM');
      assert.equal(await node.proc.exited, 0, node.proc.output());
    }

    const attr = (span: OtlpSpan, key: string) => Object.values(span.attributes.find((a) => a.key === key)?.value ?? {})[0];
    const entry = spans.find((s) => s.name === 'cache GET' && attr(s, 'url.full') === new URL(url).href);
    assert.ok(entry, `an entry span among ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(attr(entry, 'koorde.x_cache'), 'MISS-DHT');
    const trace = spans.filter((s) => s.traceId === entry.traceId);
    const names = trace.map((s) => s.name);
    const hops = trace.filter((s) => s.name.startsWith('dht.hop '));
    assert.equal(hops.length, Number(answer.headers.get('x-hops')) - 1, 'one span per lookup hop (X-Hops also counts the forward)');
    for (const hop of hops) assert.equal(hop.parentSpanId, entry.spanId);
    const serve = trace.find((s) => s.name === 'cache serve');
    assert.ok(serve, `the owner's span joined the trace: ${names.join(', ')}`);
    assert.equal(attr(serve, 'koorde.outcome'), 'MISS');
    assert.ok(trace.some((s) => s.name === 'origin fetch' && s.parentSpanId === serve.spanId), 'the origin fetch under the owner span');
  });
});
