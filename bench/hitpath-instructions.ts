/**
 * node --import tsx bench/hitpath-instructions.ts [--base DIR] [--requests 6000] [--warmup 3000]
 *
 * Machine instructions per request that bare node:http and one node's own hits cost, counted by
 * valgrind (cachegrind, no cache simulation) over everything the server process runs: unlike CPU
 * time, the count does not depend on what else the machine runs, so figures of different days
 * compare. Each server runs twice under valgrind, serving warm-up requests and then `--requests`
 * or twice as many; the difference over `--requests` is one request's cost, with start-up,
 * warm-up and what V8 still compiles and collects late in the first `--requests` left out (a
 * difference taken from the end of the warm-up instead varied by a fifth with the count).
 * `--base DIR` adds a built checkout of an earlier commit, its node counted the same way.
 * Loopback only; 1 KiB objects, 200 URLs, 8 keep-alive connections. Needs valgrind.
 */
import { spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CLUSTER_PORT_OFFSETS, freeClusterBase } from '../src/cluster/free-ports.js';
import { BARE_LISTENING, BARE_SERVER } from './lib/bare-server.js';
import { spawnBenchChild, type BenchChild } from './lib/child.js';

const { values } = parseArgs({ options: { base: { type: 'string' }, requests: { type: 'string' }, warmup: { type: 'string' } } });
const measured = Number(values.requests ?? 6000);
const warmup = Number(values.warmup ?? 3000);
if (!Number.isInteger(measured) || measured < 1 || !Number.isInteger(warmup) || warmup < 0) {
  process.stderr.write('bench/hitpath-instructions.ts: --requests takes an integer ≥ 1, --warmup an integer ≥ 0\n');
  process.exit(2);
}
if (spawnSync('valgrind', ['--version']).error !== undefined) {
  process.stderr.write('bench/hitpath-instructions.ts needs valgrind (apt-get install valgrind)\n');
  process.exit(2);
}
const URLS = 200;
const CONNECTIONS = 8;
const log = (line: string) => process.stdout.write(line + '\n');


/** A server to count: how to start it under valgrind, and the paths its requests ask for once warm. */
interface Subject {
  readonly name: string;
  start(valgrind: readonly string[]): Promise<{ child: BenchChild; base: string }>;
  /** Requests that fill what the measured ones hit (a node's cache); not counted apart. */
  readonly fill: readonly string[];
  readonly paths: readonly string[];
}

const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });

function get(url: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(url, { agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => done(res.statusCode!));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

/** `count` requests over the paths in turn, CONNECTIONS at a time. */
async function load(base: string, paths: readonly string[], count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const status = await get(base + paths[next++ % paths.length]!);
      if (status !== 200) throw new Error(`${base}: HTTP ${status}`);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
}

async function waitHealthy(base: string): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if ((await get(base + '/health').catch(() => 0)) === 200) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${base} did not become healthy under valgrind in 5 min`);
}

/** Instructions the subject's process ran while serving its fill, the warm-up and `extra` more requests. */
async function instructions(subject: Subject, extra: number): Promise<number> {
  const { child, base } = await subject.start(['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null']);
  try {
    for (const path of subject.fill) await get(base + path);
    await load(base, subject.paths, warmup + extra);
  } finally {
    await child.stop();
  }
  const refs = /I\s+refs:\s+([\d,]+)/.exec(child.output())?.[1];
  if (!refs) throw new Error(`no instruction count from valgrind: ${child.output().slice(-500)}`);
  return Number(refs.replace(/,/g, ''));
}

const origin = spawnBenchChild(process.execPath, ['dist/cli/koorde-origin.js', '--port', '0', '--size', '1024']);
try {
  const originUrl = (await origin.waitFor(/listening on (\S+)/))[1]!;
  const cachePaths = Array.from({ length: URLS }, (_, i) => `/cache?url=${encodeURIComponent(`${originUrl}/obj/${i + 1}`)}`);
  const node = (name: string, checkout: string): Subject => ({
    name,
    fill: cachePaths,
    paths: cachePaths,
    async start(valgrind) {
      const grpcPort = await freeClusterBase(1);
      const child = spawnBenchChild('valgrind', [...valgrind, process.execPath, join(resolve(checkout), 'dist/cli/koorde-node.js')], {
        env: {
          LOGGER_LEVEL: 'warn',
          CACHE_ORIGIN_ALLOWLIST: '127.0.0.1',
          DHT_PROTOCOL: 'koorde',
          DEBRUIJN_DEGREE: '2',
          NODE_BIND: '127.0.0.1',
          NODE_PORT: String(grpcPort),
          CACHE_HTTP_PORT: String(grpcPort + CLUSTER_PORT_OFFSETS.http),
          CACHE_PEER_PORT: String(grpcPort + CLUSTER_PORT_OFFSETS.peer),
          BOOTSTRAP_PEERS: `127.0.0.1:${grpcPort}`,
        },
      });
      const base = `http://127.0.0.1:${grpcPort + CLUSTER_PORT_OFFSETS.http}`;
      await waitHealthy(base);
      return { child, base };
    },
  });
  const subjects: Subject[] = [
    {
      name: 'bare node:http answering 1 KiB from memory',
      fill: [],
      paths: ['/'],
      async start(valgrind) {
        const child = spawnBenchChild('valgrind', [...valgrind, process.execPath, '-e', BARE_SERVER]);
        return { child, base: `http://127.0.0.1:${(await child.waitFor(BARE_LISTENING))[1]!}` };
      },
    },
    node('one node, its own hits (this checkout)', '.'),
    ...(values.base ? [node(`one node, its own hits (${values.base})`, values.base)] : []),
  ];
  const rows: { name: string; perRequest: number }[] = [];
  for (const subject of subjects) {
    const fewer = await instructions(subject, measured);
    const more = await instructions(subject, 2 * measured);
    const perRequest = (more - fewer) / measured;
    rows.push({ name: subject.name, perRequest });
    log(`hitpath-instructions  ${subject.name}: ${Math.round(perRequest)} instructions per request (${fewer} and ${more} in all)`);
  }
  const bare = rows[0]!.perRequest;
  log('');
  log('| server | instructions per request | bare node:http over it |');
  log('|---|---|---|');
  for (const row of rows) log(`| ${row.name} | ${Math.round(row.perRequest)} | ${(bare / row.perRequest).toFixed(2)} |`);
  log(`\n${warmup} warm-up requests, then ${measured} or ${2 * measured} more; the difference per request (valgrind --tool=cachegrind --cache-sim=no, ${CONNECTIONS} keep-alive connections)`);
} finally {
  agent.destroy();
  await origin.stop();
}
