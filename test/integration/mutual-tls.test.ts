import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { DhtClient } from '../../src/client/dht-client.js';
import { services } from '../../src/transport/grpc/protos.js';
import { NODE_SCRIPT, startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { ProcessGroup, waitFor } from '../helpers/processes.js';
import { hasOpenssl, makeRingCertificates, type RingCertificates } from '../helpers/tls-certs.js';

const CLIENT = 'dist/cli/koorde-client.js';

/** Runs koorde-client with `args`, feeds it `script` through a pipe, and returns its output and exit code. */
async function koordeClient(group: ProcessGroup, args: string[], script: string) {
  const proc = group.node('koorde-client', CLIENT, ['--timeout', '3s', ...args]);
  proc.child.stdin!.end(script);
  const code = await proc.exited;
  return { code, output: proc.output() };
}

/** A Get over a channel with the given credentials: resolves with the value or rejects with the gRPC error. */
function rawGet(addr: string, credentials: grpc.ChannelCredentials, key: string): Promise<unknown> {
  const client = new (services().client)(addr, credentials, { 'grpc.ssl_target_name_override': 'koorde-node' }) as unknown as grpc.Client & { Get: (req: object, opts: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void };
  return new Promise<unknown>((resolve, reject) =>
    client.Get({ key }, { deadline: new Date(Date.now() + 3000) }, (err, res) => (err ? reject(err) : resolve(res))),
  ).finally(() => client.close());
}

describe('integration - mutual TLS between nodes and clients', { skip: !hasOpenssl() && 'openssl is not installed (.ci/run installs it)' }, () => {
  const group = new ProcessGroup();
  let ring: RingCertificates;
  let other: RingCertificates;
  let nodes: TestNode[] = [];
  let origin: Server;
  after(async () => {
    await group.stopAll();
    origin?.closeAllConnections();
    origin?.close();
  });
  before(async () => {
    ring = makeRingCertificates('tls-ring');
    other = makeRingCertificates('other-ring');
    origin = createServer((req, res) => res.writeHead(200, { 'cache-control': 'max-age=60' }).end(`object ${req.url}`));
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    nodes = await startNodes(group, 2, { protocol: 'koorde', degree: 2, env: { ...ring.nodeEnv, CACHE_ORIGIN_ALLOWLIST: '127.0.0.1' } });
    await waitForStableRing(nodes, { protocol: 'koorde', degree: 2, idBits: 66, successors: 8 }, 60_000, ring.clientCredentials);
  });

  it('two nodes with TLS_* set form a ring and serve a put/get through koorde-client with a certificate', async () => {
    const { code, output } = await koordeClient(group, ['--addr', nodes[0]!.addr, ...ring.clientArgs], 'put secret kept between us\nget secret\n');
    assert.equal(code, 0, output);
    assert.match(output, /^ok {2}\(/m);
    assert.match(output, /^kept between us {2}\(/m);
    // Read back through the other node: the value crossed the node-to-node channel, which is TLS too.
    const client = new DhtClient(nodes[1]!.addr, 3000, ring.clientCredentials);
    try {
      assert.equal(await client.get('secret'), 'kept between us');
    } finally {
      client.close();
    }
    for (const node of nodes) assert.doesNotMatch(node.proc.output(), /gRPC is plaintext/);
  });

  it('forwards cache requests to their owner over the TLS peer data channel', async () => {
    await waitFor('both nodes READY', async () => (await Promise.all(nodes.map((n) => fetch(`${n.http}/health`)))).every((r) => r.status === 200));
    const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/tls-object`;
    const answers = await Promise.all(
      nodes.map(async (node) => {
        const res = await fetch(`${node.http}/cache?url=${encodeURIComponent(url)}`);
        return { status: res.status, body: await res.text(), xCache: res.headers.get('x-cache'), owner: res.headers.get('x-responsible-node'), entry: node.addr };
      }),
    );
    for (const a of answers) assert.deepEqual([a.status, a.body], [200, 'object /tls-object']);
    const forwarded = answers.find((a) => a.owner !== a.entry);
    assert.ok(forwarded, 'one of the two nodes is not the owner and forwarded');
    assert.match(forwarded.xCache!, /^(MISS|HIT)-DHT$/);
  });

  it('refuses a plaintext client', async () => {
    const { output } = await koordeClient(group, ['--addr', nodes[0]!.addr], 'get secret\n');
    assert.match(output, /^error: unreachable — could not connect to .*if the node runs mutual TLS, give --tls-ca, --tls-cert and --tls-key/m);
    assert.doesNotMatch(output, /kept between us/);
    await assert.rejects(rawGet(nodes[0]!.addr, grpc.credentials.createInsecure(), 'secret'), { code: grpc.status.UNAVAILABLE });
  });

  it('refuses a TLS client that trusts the CA but shows no certificate', async () => {
    const ca = readFileSync(ring.ca);
    const noCertificate = grpc.credentials.createSsl(ca, null, null, { checkServerIdentity: () => undefined });
    await assert.rejects(rawGet(nodes[1]!.addr, noCertificate, 'secret'), { code: grpc.status.UNAVAILABLE });
  });

  it('refuses a client whose certificate another CA signed', async () => {
    const args = ['--tls-ca', ring.ca, '--tls-cert', other.clientCert, '--tls-key', other.clientKey];
    const { output } = await koordeClient(group, ['--addr', nodes[0]!.addr, ...args], 'get secret\n');
    assert.match(output, /^error: unreachable — could not connect to .*TLS handshake failed/m);
    assert.doesNotMatch(output, /kept between us/);
  });

  it('a node with a certificate of another CA cannot join the ring', async () => {
    const [stranger] = await startNodes(group, 1, { protocol: 'koorde', degree: 2, env: { ...other.nodeEnv, BOOTSTRAP_PEERS: nodes[0]!.addr, LOGGER_LEVEL: 'info' } });
    // Its join attempts fail in the handshake, the way an unreachable peer fails, so it keeps trying.
    await waitFor('the stranger to report failed joins', async () => /still looking for the ring/.test(stranger!.proc.output()), 60_000);
    const client = new DhtClient(nodes[0]!.addr, 3000, ring.clientCredentials);
    try {
      const table = await client.routingTable();
      assert.ok(!table.successors.some((s) => s.addr === stranger!.addr) && table.predecessor?.addr !== stranger!.addr, 'the stranger is not in the ring');
    } finally {
      client.close();
    }
  });
});

describe('integration - TLS settings are checked at start', { skip: !hasOpenssl() && 'openssl is not installed (.ci/run installs it)' }, () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());
  let ring: RingCertificates;
  let other: RingCertificates;
  before(() => {
    ring = makeRingCertificates('settings-ring');
    other = makeRingCertificates('settings-other');
  });

  const startNode = async (env: Record<string, string>) => {
    const proc = group.node('tls-settings', NODE_SCRIPT, [], { LOGGER_LEVEL: 'warn', NODE_BIND: '127.0.0.1', NODE_PORT: '1', ...env });
    return { code: await proc.exited, output: proc.output() };
  };

  it('exits 2 naming the settings when only some of TLS_CA_FILE, TLS_CERT_FILE, TLS_KEY_FILE are set', async () => {
    const onlyCa = await startNode({ TLS_CA_FILE: ring.ca });
    assert.equal(onlyCa.code, 2);
    assert.match(onlyCa.output, /TLS_CA_FILE set but TLS_CERT_FILE and TLS_KEY_FILE empty/);
    const noKey = await startNode({ TLS_CA_FILE: ring.ca, TLS_CERT_FILE: ring.nodeCert });
    assert.equal(noKey.code, 2);
    assert.match(noKey.output, /TLS_CA_FILE and TLS_CERT_FILE set but TLS_KEY_FILE empty/);
  });

  it('exits 2 naming the file that cannot be read', async () => {
    const missing = `${ring.dir}/no-such.key`;
    const { code, output } = await startNode({ ...ring.nodeEnv, TLS_KEY_FILE: missing });
    assert.equal(code, 2);
    assert.match(output, new RegExp(`TLS_KEY_FILE="${missing.replace(/[.\\/]/g, '\\$&')}": cannot read it \\(ENOENT\\)`));
  });

  it('exits 2 when the key does not belong to the certificate', async () => {
    const { code, output } = await startNode({ ...ring.nodeEnv, TLS_KEY_FILE: other.nodeKey });
    assert.equal(code, 2);
    assert.match(output, /TLS_CA_FILE, TLS_CERT_FILE, TLS_KEY_FILE: not a usable CA, certificate and matching private key/);
  });

  it('koorde-client exits 2 naming the missing --tls-* flags', async () => {
    const proc = group.node('koorde-client', CLIENT, ['--tls-ca', ring.ca]);
    proc.child.stdin!.end('');
    assert.equal(await proc.exited, 2);
    assert.match(proc.output(), /koorde-client: --tls-ca set but --tls-cert and --tls-key empty/);
  });

  it('a plaintext node says so in a warning line at start', async () => {
    const [node] = await startNodes(group, 1, { protocol: 'koorde', degree: 2 });
    await waitFor('the plaintext warning', async () => /gRPC is plaintext.*TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE/.test(node!.proc.output()), 30_000);
  });
});
