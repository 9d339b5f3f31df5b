import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDnsServer } from '../helpers/dns.js';
import { NODE_SCRIPT, nodeIds, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { freePorts, ProcessGroup } from '../helpers/processes.js';
import { hasOpenssl, makeRingCertificates } from '../helpers/tls-certs.js';
import { podIdentity } from './pod-env.js';

describe('deploy - a rehearsal of the StatefulSet start-up on loopback', { skip: !hasOpenssl() && 'openssl is not installed (.ci/run installs it)' }, () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  it('4 pods with the exact StatefulSet env, started at once, bootstrap through DNS into one ring', async () => {
    const ips = ['127.0.0.61', '127.0.0.62', '127.0.0.63', '127.0.0.64'];
    const pods = ips.map((ip, i) => podIdentity('koorde', i, ip));
    // The DNS server answers what cluster DNS answers: the headless name with every pod, and each pod's own name.
    const dns = await startDnsServer(group, {
      [pods[0]!.headlessFqdn]: ips,
      ...Object.fromEntries(pods.map((p, i) => [p.fqdn, [ips[i]!]])),
    });
    const [grpcPort, httpPort, peerPort] = await freePorts(3);
    const stateDir = mkdtempSync(join(tmpdir(), 'koorde-pods-'));
    // What deploy-eks.sh puts into the Secret; pods dial each other by IP, which no SAN lists.
    const tls = makeRingCertificates(pods[0]!.namespace);
    const nodes: TestNode[] = pods.map((pod, i) => {
      const env: Record<string, string> = {
        ...pod.env,
        // Only what one machine cannot give as pods do: the resolver, an address of its own to bind
        // (a pod has its own network namespace), free ports, a writable state path, quicker rounds.
        BOOTSTRAP_DNS_SERVER: dns,
        NODE_BIND: ips[i]!,
        NODE_PORT: String(grpcPort),
        CACHE_HTTP_PORT: String(httpPort),
        CACHE_PEER_PORT: String(peerPort),
        STATE_FILE: join(stateDir, `${pod.name}.json`),
        // The Secret's files, at this machine's paths instead of the pod's mount.
        ...tls.nodeEnv,
        STABILIZATION_INTERVAL: '250ms',
        DEBRUIJN_FIX_INTERVAL: '500ms',
        LOGGER_LEVEL: 'info',
      };
      assert.equal(env.BOOTSTRAP_MODE, 'dns');
      assert.equal(env.BOOTSTRAP_DNS_NAME, pod.headlessFqdn);
      assert.equal(env.NODE_HOST, ips[i]);
      return { name: pod.name, addr: `${ips[i]}:${grpcPort}`, http: `http://${ips[i]}:${httpPort}`, env, proc: group.node(pod.name, NODE_SCRIPT, [], env) };
    });
    assert.ok(pods[0]!.env.TLS_CA_FILE && pods[0]!.env.TLS_CERT_FILE && pods[0]!.env.TLS_KEY_FILE, 'the pods run mutual TLS');
    await waitForStableRing(
      nodes,
      { protocol: 'koorde', degree: Number(nodes[0]!.env.DEBRUIJN_DEGREE), idBits: Number(nodes[0]!.env.DHT_ID_BITS), successors: 8 },
      60_000,
      tls.clientCredentials,
    );
    assert.equal((await nodeIds(nodes, tls.clientCredentials)).size, 4);
    const creators = nodes.filter((n) => /created a new ring/.test(n.proc.output()));
    assert.equal(creators.length, 1, 'exactly one pod created the ring; the others joined it');
  });
});
