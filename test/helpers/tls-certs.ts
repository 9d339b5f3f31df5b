import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcCredentials, readTlsMaterial } from '../../src/transport/grpc/tls.js';

/** The files deploy/eks/tls-certs.sh makes for one ring: its CA, a node and a client certificate. */
export interface RingCertificates {
  readonly dir: string;
  readonly ca: string;
  readonly nodeCert: string;
  readonly nodeKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** TLS_* settings of a node of this ring. */
  readonly nodeEnv: Record<string, string>;
  /** koorde-client flags of a client of this ring. */
  readonly clientArgs: string[];
  /** What a test's own DhtClient needs to talk to the ring. */
  readonly clientCredentials: GrpcCredentials;
}

/** Whether openssl can run here (.ci/run installs it; a developer machine may lack it). */
export function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

/** A fresh CA with its node and client certificates, made by the script the EKS deployment uses. */
export function makeRingCertificates(namespace = 'test-ring'): RingCertificates {
  const dir = join(mkdtempSync(join(tmpdir(), 'koorde-tls-')), namespace);
  const made = spawnSync('bash', ['deploy/eks/tls-certs.sh', dir, namespace], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`deploy/eks/tls-certs.sh failed: ${made.stderr}`);
  const file = (name: string) => join(dir, name);
  const names = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' };
  return {
    dir,
    ca: file('ca.crt'),
    nodeCert: file('tls.crt'),
    nodeKey: file('tls.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    nodeEnv: { TLS_CA_FILE: file('ca.crt'), TLS_CERT_FILE: file('tls.crt'), TLS_KEY_FILE: file('tls.key') },
    clientArgs: ['--tls-ca', file('ca.crt'), '--tls-cert', file('client.crt'), '--tls-key', file('client.key')],
    clientCredentials: new GrpcCredentials(readTlsMaterial({ ca: file('ca.crt'), cert: file('client.crt'), key: file('client.key') }, names)),
  };
}
