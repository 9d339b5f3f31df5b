import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Route53Registry, srvTarget } from '../../src/server/route53-registry.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { FakeRoute53 } from '../helpers/fake-route53.js';

describe('route53 - SRV records of the ring in a hosted zone (SDK v3 against a loopback fake)', () => {
  const fake = new FakeRoute53('ZFAKE');
  let endpoint = '';
  const saved = { ...process.env };
  before(async () => {
    endpoint = await fake.start();
    // Dummy credentials through the SDK's default chain; nothing may look for instance metadata.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret', AWS_EC2_METADATA_DISABLED: 'true' });
  });
  after(async () => {
    process.env = saved;
    await fake.close();
  });

  const registry = (addr: string) => new Route53Registry({ zoneId: 'ZFAKE', suffix: 'koorde.test', ttlSeconds: 30, region: '', endpoint }, addr, silentLogger);

  it('registers signed SRV records, lists peers across pages skipping foreign and malformed records, and deregisters', async () => {
    fake.put({ name: 'www.koorde.test.', type: 'A', ttl: 60, values: ['127.0.0.9'] });
    fake.put({ name: 'x.other.test.', type: 'SRV', ttl: 60, values: ['0 0 4000 127.0.0.8.'] });
    fake.put({ name: 'bad.koorde.test.', type: 'SRV', ttl: 60, values: ['0 0 99999 127.0.0.7.', 'rm -rf /', '0 0 4000 evil"host.'] });
    const a = registry('127.0.0.1:4001');
    const b = registry('127.0.0.2:4002');
    await a.register('aa');
    await b.register('bb');
    assert.deepEqual(fake.records.get('aa.koorde.test. SRV'), { name: 'aa.koorde.test.', type: 'SRV', ttl: 30, values: ['0 0 4001 127.0.0.1.'] });
    assert.deepEqual(await a.peers(), [
      { addr: '127.0.0.1:4001', self: true },
      { addr: '127.0.0.2:4002', self: false },
    ]);
    assert.ok(fake.authorizations.every((h) => h.startsWith('AWS4-HMAC-SHA256 Credential=AKIDTEST/')), 'every call SigV4-signed');
    await b.deregister();
    await b.deregister(); // already gone: not an error
    assert.deepEqual((await a.peers()).map((p) => p.addr), ['127.0.0.1:4001']);
    a.close();
    b.close();
  });

  it('reads an SRV value as target:port and refuses anything else', () => {
    assert.equal(srvTarget('0 0 4000 dht-node-0.dht-headless.koorde-dht.svc.cluster.local.'), 'dht-node-0.dht-headless.koorde-dht.svc.cluster.local:4000');
    assert.equal(srvTarget('10 5 4000 10.0.1.89'), '10.0.1.89:4000');
    assert.equal(srvTarget('0 0 4000 ::1.'), '[::1]:4000');
    for (const hostile of ['', '0 0 4000', '0 0 70000 h.', '0 0 4000 a b.', '0 0 4000 -h.', 'x 0 4000 h.', '0 0 4000 h/../x.']) assert.equal(srvTarget(hostile), undefined, hostile);
  });
});
