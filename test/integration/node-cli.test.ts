import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { NODE_SCRIPT, startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { ProcessGroup } from '../helpers/processes.js';

describe('integration - koorde-node configuration errors', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  const cases: [string, Record<string, string>, RegExp][] = [
    ['an unknown protocol', { DHT_PROTOCOL: 'pastry' }, /DHT_PROTOCOL="pastry": expected one of koorde, chord/],
    ['a degree that is no power of two', { DEBRUIJN_DEGREE: '6' }, /DEBRUIJN_DEGREE=6 .*power of two/],
    ['a degree that does not divide the id width', { DEBRUIJN_DEGREE: '16' }, /DEBRUIJN_DEGREE=16 with DHT_ID_BITS=66/],
    ['a decay outside (0, 1)', { CACHE_HOTSPOT_DECAY: '2' }, /CACHE_HOTSPOT_DECAY="2"/],
    ['a port that is not a number', { NODE_PORT: 'http' }, /NODE_PORT="http": expected an integer from 1 to 65535/],
    ['a malformed duration', { FAILURE_TIMEOUT: 'soon' }, /FAILURE_TIMEOUT="soon": expected a duration/],
    ['dns bootstrap without a name', { BOOTSTRAP_MODE: 'dns' }, /BOOTSTRAP_DNS_NAME is empty/],
    ['a malformed peer list', { BOOTSTRAP_PEERS: 'node-a' }, /BOOTSTRAP_PEERS="node-a": expected a comma-separated list of host:port/],
  ];
  for (const [what, env, message] of cases) {
    it(`exits 2 naming the setting on ${what}`, async () => {
      const proc = group.node('bad-config', NODE_SCRIPT, [], { LOGGER_LEVEL: 'warn', ...env });
      assert.equal(await proc.exited, 2);
      assert.match(proc.output(), message);
    });
  }

  it('exits 2 naming the key of a YAML file with a typo', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'koorde-yaml-')), 'node.yaml');
    writeFileSync(file, 'dht:\n  protocl: chord\n');
    const proc = group.node('bad-yaml', NODE_SCRIPT, ['--config', file]);
    assert.equal(await proc.exited, 2);
    assert.match(proc.output(), /dht\.protocl: unknown setting/);
  });
});

describe('integration - clients of a 3-node ring', () => {
  const group = new ProcessGroup();
  let nodes: TestNode[] = [];
  after(() => group.stopAll());
  before(async () => {
    nodes = await startNodes(group, 3, { protocol: 'koorde', degree: 2 });
    await waitForStableRing(nodes, { protocol: 'koorde', degree: 2, idBits: 66, successors: 8 });
  });

  it('koorde-client driven through a pipe: put, get, delete, getrt, errors in plain words', async () => {
    const script = ['put fruit a ripe pear', 'get fruit', 'getrt', 'getstore', 'delete fruit', 'get fruit', 'frobnicate', `use 127.0.0.1:1`, 'get fruit', ''].join('\n');
    const client = group.node('koorde-client', 'dist/cli/koorde-client.js', ['--addr', nodes[0]!.addr, '--timeout', '2s']);
    client.child.stdin!.end(script);
    assert.equal(await client.exited, 0);
    const lines = client.output().trim().split('\n');
    assert.match(lines[0]!, /^ok {2}\(\d+\.\d ms\)$/);
    assert.match(lines[1]!, /^a ripe pear {2}\(\d+\.\d ms\)$/);
    assert.match(lines[2]!, new RegExp(`^self +0x[0-9a-f]+ +${nodes[0]!.addr.replace(/\./g, '\\.')}$`));
    assert.match(client.output(), /^predecessor +0x[0-9a-f]+ +127\.0\.0\.1:\d+$/m);
    assert.match(client.output(), /^successors +1 +0x[0-9a-f]+ +127\.0\.0\.1:\d+$/m);
    assert.match(client.output(), /^de Bruijn\/fingers +1 +0x[0-9a-f]+/m);
    assert.match(client.output(), /^\d+ items? {2}\(/m);
    assert.match(client.output(), /^deleted {2}\(/m);
    assert.match(client.output(), /^error: not found — no value stored under "fruit"/m);
    assert.match(client.output(), /^error: invalid input — unknown command "frobnicate"/m);
    assert.match(client.output(), /^now using 127\.0\.0\.1:1/m);
    assert.match(client.output(), /^error: unreachable — could not reach 127\.0\.0\.1:1 \(connection refused\)/m);
  });

  it("answers a client built only from docs/api.md's field list (wire compatibility)", async () => {
    const definition = protoLoader.loadSync('test/fixtures/original-client.proto', { keepCase: true, defaults: true });
    const api = (grpc.loadPackageDefinition(definition) as any).client.v1.ClientAPI as grpc.ServiceClientConstructor;
    const client = new api(nodes[1]!.addr, grpc.credentials.createInsecure()) as any;
    const call = (method: string, request: object) =>
      new Promise<any>((resolve, reject) => client[method](request, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))));
    try {
      await call('Put', { resource: { key: 'colour', value: 'blue' } });
      assert.deepEqual(await call('Get', { key: 'colour' }), { value: 'blue' });
      await assert.rejects(call('Get', { key: 'missing' }), { code: grpc.status.NOT_FOUND });
      await assert.rejects(call('Get', { key: '' }), { code: grpc.status.INVALID_ARGUMENT });
      await assert.rejects(call('Lookup', { id: 'not-hex' }), { code: grpc.status.INVALID_ARGUMENT });
      const table = await call('GetRoutingTable', {});
      assert.equal(table.self.addr, nodes[1]!.addr);
      assert.match(table.self.id, /^0x[0-9a-f]+$/);
      assert.equal(table.successors.length, 2);
      const owner = (await call('Lookup', { id: table.self.id })).successor;
      assert.equal(owner.addr, nodes[1]!.addr, 'a node owns its own id');
      const items: any[] = [];
      for (const node of nodes) {
        const c = new api(node.addr, grpc.credentials.createInsecure()) as any;
        const stream = c.GetStore({});
        for await (const m of stream) items.push(m);
        c.close();
      }
      assert.ok(items.some((m) => m.item.key === 'colour' && m.item.value === 'blue' && /^0x[0-9a-f]+$/.test(m.id)));
      await call('Delete', { key: 'colour' });
      await assert.rejects(call('Get', { key: 'colour' }), { code: grpc.status.NOT_FOUND });
    } finally {
      client.close();
    }
  });

  it('serves the standard gRPC health service: SERVING when ready', async () => {
    const definition = protoLoader.loadSync('proto/grpc/health/v1/health.proto', { keepCase: true, enums: String });
    const health = (grpc.loadPackageDefinition(definition) as any).grpc.health.v1.Health as grpc.ServiceClientConstructor;
    const client = new health(nodes[2]!.addr, grpc.credentials.createInsecure()) as any;
    const check = (service: string) =>
      new Promise<any>((resolve, reject) => client.Check({ service }, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))));
    try {
      assert.deepEqual(await check(''), { status: 'SERVING' });
      await assert.rejects(check('no.such.Service'), { code: grpc.status.NOT_FOUND });
    } finally {
      client.close();
    }
  });
});
