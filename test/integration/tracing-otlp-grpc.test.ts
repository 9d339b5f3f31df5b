import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, describe, it } from 'node:test';
import { SyntheticOrigin } from '../../src/synthetic/origin-server.js';
import { startNodes } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';
import { viaCache } from '../helpers/web.js';

const EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

describe('tracing - TRACING_ENDPOINT host:port sends spans over OTLP/gRPC', () => {
  const group = new ProcessGroup();
  const origin = new SyntheticOrigin({ port: 0 });
  // A stand-in collector: the Export call with raw protobuf bytes, kept for the assertions.
  const received: Buffer[] = [];
  const collector = new grpc.Server();
  const identity = (b: Buffer) => b;
  collector.register(EXPORT, (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    received.push(call.request);
    callback(null, Buffer.alloc(0)); // an empty ExportTraceServiceResponse
  }, identity, identity, 'unary');
  after(async () => {
    await group.stopAll();
    await origin.close();
    collector.forceShutdown();
  });

  it('a request traced on a node reaches the collector as OTLP protobuf over gRPC', async () => {
    const base = await origin.listen();
    const port = await new Promise<number>((resolve, reject) =>
      collector.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const [node] = await startNodes(group, 1, {
      protocol: 'koorde',
      degree: 2,
      env: { CACHE_ORIGIN_ALLOWLIST: '127.0.0.1', TRACING_ENABLED: 'true', TRACING_EXPORTER: 'otlp', TRACING_ENDPOINT: `127.0.0.1:${port}` },
    });
    await waitFor('the node READY', async () => (await fetch(`${node!.http}/health`)).ok);
    assert.equal((await viaCache(node!, `${base}/obj/grpc-traced`)).status, 200);
    // Leaving flushes the batched spans before the process exits: after a clean exit they are here.
    node!.proc.child.kill('SIGTERM');
    assert.equal(await node!.proc.exited, 0, node!.proc.output());
    const bytes = Buffer.concat(received).toString('latin1');
    assert.ok(bytes.includes('koorde-web-cache'), 'the service name in the resource');
    assert.ok(bytes.includes('cache GET'), 'the entry span');
    assert.ok(bytes.includes(`${base}/obj/grpc-traced`), "the request's URL as a span attribute");
  });
});
