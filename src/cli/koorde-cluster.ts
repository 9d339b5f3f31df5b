#!/usr/bin/env node
import { LoadBalancer } from '../cluster/load-balancer.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import { degreeProblem } from '../id/digits.js';
import { MAX_ID_BITS } from '../id/id-space.js';
import { PROTOCOLS, type Protocol } from '../routing/router.js';
import { SyntheticOrigin } from '../synthetic/origin-server.js';
import { command, decimal, integer, oneOf, usageError } from './options.js';

const NAME = 'koorde-cluster';
const program = command(NAME, 'A local cluster of koorde-node processes behind a round-robin load balancer.');

program
  .command('up')
  .description('start N nodes on loopback, a load balancer and optionally a local origin; Ctrl-C stops everything')
  .option('--nodes <n>', 'number of nodes', integer(1, 256), 8)
  .option('--protocol <name>', 'koorde or chord', oneOf(PROTOCOLS), 'koorde')
  .option('--degree <k>', 'Koorde base k (power of two)', integer(2, 256), 8)
  .option('--bits <b>', `identifier bits (env DHT_ID_BITS; default 66, or 96 when the degree needs it)`, integer(8, MAX_ID_BITS))
  .option('--base-port <port>', 'gRPC ports from here; HTTP ports from here + 1000; peer data channel ports from here + 2000', integer(1, 63_000), 4000)
  .option('--lb-port <port>', 'load balancer port on 127.0.0.1', integer(1, 65_535), 8080)
  .option('--origin', 'also start a local origin (koorde-origin) on --origin-port and allow-list it')
  .option('--origin-port <port>', 'port of the local origin', integer(1, 65_535), 9000)
  .option('--hop-delay-ms <ms>', 'delay added to every node-to-node call (DHT_HOP_DELAY), so hops show in latency', decimal(0, 10_000), 0)
  .action(up);

program
  .command('status')
  .description('print the ring: members, their share of the key space, status and hit rate')
  .option('--addr <url>', 'any node or the load balancer', 'http://127.0.0.1:8080')
  .action(status);

await program.parseAsync();

interface UpOptions {
  nodes: number;
  protocol: Protocol;
  degree: number;
  bits?: number;
  basePort: number;
  lbPort: number;
  origin?: boolean;
  originPort: number;
  hopDelayMs: number;
}

async function up(opts: UpOptions): Promise<void> {
  const bits = opts.bits ?? Number(process.env.DHT_ID_BITS ?? (opts.protocol === 'koorde' && degreeProblem(opts.degree, 66) ? 96 : 66));
  if (opts.protocol === 'koorde') {
    const problem = degreeProblem(opts.degree, bits);
    if (problem) usageError(NAME, `${problem} (use --bits)`);
  }
  const env: Record<string, string> = { DHT_ID_BITS: String(bits), DHT_HOP_DELAY: `${opts.hopDelayMs}ms`, NODE_ID_STRATEGY: process.env.NODE_ID_STRATEGY ?? 'balanced' };
  let origin: SyntheticOrigin | undefined;
  let originUrl = '';
  if (opts.origin) {
    origin = new SyntheticOrigin({ port: opts.originPort });
    originUrl = await origin.listen();
    const allow = process.env.CACHE_ORIGIN_ALLOWLIST;
    env.CACHE_ORIGIN_ALLOWLIST = allow ? `${allow},127.0.0.1` : '127.0.0.1';
    // Advertised in /health: cache-workload without --url-template requests this origin's objects.
    env.CACHE_DEMO_ORIGIN = originUrl;
  }
  const cluster = new LocalCluster({ nodes: opts.nodes, protocol: opts.protocol, degree: opts.degree, basePort: opts.basePort, env });
  const balancer = new LoadBalancer(() => cluster.nodes);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping: every node hands its data over and leaves…\n');
    await cluster.stop();
    balancer.close();
    await origin?.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  cluster.whenCrashed((node) => process.stderr.write(`${NAME}: node ${node.index} (${node.grpc}) exited unexpectedly (${node.crashed}); see ${cluster.logDir}/node-${node.index}.log\n`));

  const name = opts.protocol === 'koorde' ? `Koorde k=${opts.degree}` : 'Chord';
  process.stdout.write(`starting ${opts.nodes} nodes (${name}, ${bits}-bit ids); logs in ${cluster.logDir}\n`);
  cluster.start();
  try {
    await balancer.listen(opts.lbPort);
    await cluster.waitReady(60_000 + 2000 * opts.nodes);
    await balancer.refresh(); // READY means the balancer routes to every node already
  } catch (err) {
    process.stderr.write(`${NAME}: ${(err as Error).message}\n`);
    await stop(1);
    return;
  }
  const lb = `http://127.0.0.1:${opts.lbPort}`;
  const sample = origin ? `${originUrl}/obj/1` : 'https://example.com/';
  process.stdout.write(
    [
      '',
      `load balancer  ${lb}  (TCP, round robin per connection over healthy nodes)`,
      ...cluster.nodes.map((n) => `node ${String(n.index).padEnd(3)}       ${n.http}  gRPC ${n.grpc}`),
      ...(origin ? [`origin         ${originUrl}  (allow-listed)`] : []),
      '',
      'try:',
      `  curl -si '${lb}/cache?url=${encodeURIComponent(sample)}' | grep -i '^x-'`,
      `  open ${lb}/dashboard`,
      `  cache-workload --target ${lb} --urls 1000 --requests 5000 --rate 200 --zipf 1.2${origin ? '' : " --url-template 'https://your-origin.example/obj/{i}'"}`,
      `  koorde-cluster status --addr ${lb}`,
      '',
      'READY',
      '',
    ].join('\n'),
  );
}

async function status(opts: { addr: string }): Promise<void> {
  let view: {
    protocol: string;
    size: number;
    truncated: boolean;
    balance?: { max_share_over_mean: number };
    members: { id: string; addr: string; share: number; status: string; figures: { requests?: number; hit_rate?: number; cache_entries?: number } }[];
  };
  try {
    const res = await fetch(new URL('/cluster', opts.addr));
    if (!res.ok) usageError(NAME, `${opts.addr}/cluster answered ${res.status}`);
    view = (await res.json()) as typeof view;
  } catch (err) {
    usageError(NAME, `could not reach ${opts.addr}: ${(err as Error).message}`);
  }
  const rows = view.members.map((m) =>
    [
      m.addr.padEnd(22),
      m.id.padEnd(22),
      `${(100 * m.share).toFixed(1).padStart(5)} %`,
      m.status.padEnd(18),
      String(m.figures.requests ?? 0).padStart(8),
      m.figures.hit_rate === undefined ? '     –' : `${(100 * m.figures.hit_rate).toFixed(1).padStart(5)} %`,
      String(m.figures.cache_entries ?? 0).padStart(8),
    ].join('  '),
  );
  process.stdout.write(
    [
      `${view.protocol} ring of ${view.size} node${view.size === 1 ? '' : 's'}${view.truncated ? ' (truncated)' : ''}` +
        (view.balance ? `; largest share ${view.balance.max_share_over_mean.toFixed(2)}× the mean` : ''),
      ['node'.padEnd(22), 'id'.padEnd(22), '  share', 'status'.padEnd(18), 'requests', 'hit rate', ' objects'].join('  '),
      ...rows,
      '',
    ].join('\n'),
  );
}
