import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { freePorts, waitFor, type ProcessGroup } from './processes.js';

/**
 * A real DNS server on loopback (dnsmasq, which .ci/run installs) answering only the given
 * names, so DNS bootstrap is tested as it runs in Kubernetes. Returns its `host:port`.
 */
export async function startDnsServer(group: ProcessGroup, records: Record<string, readonly string[]>): Promise<string> {
  const binary = ['/usr/sbin/dnsmasq', 'dnsmasq'].find((b) => {
    try {
      execFileSync(b, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!binary) throw new Error('dnsmasq is not installed: run `apt-get install -y dnsmasq` (.ci/run does)');
  const hosts = join(mkdtempSync(join(tmpdir(), 'koorde-dns-')), 'hosts');
  writeFileSync(hosts, Object.entries(records).flatMap(([name, ips]) => ips.map((ip) => `${ip} ${name}`)).join('\n') + '\n');
  const [port] = await freePorts(1);
  const server = `127.0.0.1:${port}`;
  group.spawn('dnsmasq', binary, [
    '--keep-in-foreground',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    `--addn-hosts=${hosts}`,
    '--conf-file=/dev/null',
    '--pid-file=',
    `--user=${userInfo().username}`,
  ]);
  const resolver = new Resolver();
  resolver.setServers([server]);
  const [first] = Object.keys(records);
  await waitFor('dnsmasq to answer', async () => (await resolver.resolve4(first!)).length > 0, 10_000);
  return server;
}
