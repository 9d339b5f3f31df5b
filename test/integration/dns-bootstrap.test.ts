import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { NODE_SCRIPT, FAST_RING_ENV, nodeIds, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { startDnsServer } from '../helpers/dns.js';
import { freePorts, ProcessGroup } from '../helpers/processes.js';

const NAME = 'dht-headless.koorde-dht.svc.cluster.local';

describe('integration - DNS bootstrap against a real DNS server on loopback', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('4 nodes started at once, each knowing only the service name, form one ring', async () => {
    const ips = ['127.0.0.41', '127.0.0.42', '127.0.0.43', '127.0.0.44'];
    const dns = await startDnsServer(group, { [NAME]: ips });
    const [grpcPort, httpPort] = await freePorts(2);
    const nodes: TestNode[] = ips.map((ip, i) => {
      const env = {
        ...FAST_RING_ENV,
        NODE_BIND: ip,
        NODE_PORT: String(grpcPort),
        CACHE_HTTP_PORT: String(httpPort),
        CACHE_PEER_PORT: '0',
        BOOTSTRAP_MODE: 'dns',
        BOOTSTRAP_DNS_NAME: NAME,
        BOOTSTRAP_DNS_SERVER: dns,
        LOGGER_LEVEL: 'info',
      };
      return { name: `pod-${i}`, addr: `${ip}:${grpcPort}`, http: `http://${ip}:${httpPort}`, env, proc: group.node(`pod-${i}`, NODE_SCRIPT, [], env) };
    });
    await waitForStableRing(nodes, { protocol: 'koorde', degree: 8, idBits: 66, successors: 8 });
    assert.equal((await nodeIds(nodes)).size, 4);
    const creators = nodes.filter((n) => /created a new ring/.test(n.proc.output()));
    assert.deepEqual(creators.map((n) => n.addr), [nodes[0]!.addr], 'only the first address in DNS order created a ring');
  });
});
