#!/usr/bin/env node
import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { MAX_ID_BITS } from '../id/id-space.js';
import { dnsPeers } from '../server/bootstrap.js';
import { formatLookupSummary, runLookupLoad } from '../tester/lookup-load.js';
import { command, decimal, duration, integer, usageError } from './options.js';

const NAME = 'koorde-tester';
const program = command(NAME, 'Lookup load test over gRPC: N random keys per second to a set of nodes, one CSV row per lookup, then a summary.')
  .option('--addrs <a,b,c>', 'gRPC addresses (host:port) of the nodes, used round robin')
  .option('--dns <name>', 'or a DNS name whose addresses are the nodes (a headless Service), asked again every 5 s')
  .option('--port <port>', 'gRPC port of the nodes found through --dns', integer(1, 65_535), 4000)
  .option('--dns-server <host:port>', 'DNS server for --dns (default: the system resolver)')
  .option('--rate <r>', 'lookups started per second', decimal(0, 1_000_000), 10)
  .option('--lookups <n>', 'stop after this many lookups', integer(1))
  .option('--duration <d>', 'or stop after this long, e.g. 30s (default 60s when --lookups is not given)', duration)
  .option('--concurrency <c>', 'most lookups in flight', integer(1, 100_000), 64)
  .option('--bits <b>', "keys are uniform in [0, 2^b): the nodes' DHT_ID_BITS", integer(1, MAX_ID_BITS), 66)
  .option('--seed <n>', 'seed of the keys', integer(0, 2 ** 32 - 1), 1)
  .option('--timeout <d>', 'deadline of one lookup', duration, 5000)
  .option('--output <file>', 'CSV, one row per lookup: timestamp,key,hops,latency_ms,owner,error,target ("-": none)', 'lookups.csv')
  .option('--json [file]', 'write the summary as JSON to file (without a file: print it instead of the text summary)')
  .addHelpText('after', '\nExit code: 0 after a run, 1 if no lookup succeeded, 2 on bad arguments.')
  .parse();

const opts = program.opts<{
  addrs?: string;
  dns?: string;
  port: number;
  dnsServer?: string;
  rate: number;
  lookups?: number;
  duration?: number;
  concurrency: number;
  bits: number;
  seed: number;
  timeout: number;
  output: string;
  json?: string | true;
}>();

if ((opts.addrs === undefined) === (opts.dns === undefined)) usageError(NAME, 'give exactly one of --addrs host:port,… and --dns NAME');
if (opts.rate <= 0) usageError(NAME, '--rate must be > 0 lookups per second');
if (opts.lookups !== undefined && opts.duration !== undefined) usageError(NAME, 'give --lookups or --duration, not both');
const addrs = opts.addrs?.split(',').map((a) => a.trim()).filter(Boolean) ?? [];
const badAddr = addrs.find((a) => !/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/i.test(a));
if (badAddr !== undefined || (opts.addrs !== undefined && addrs.length === 0)) usageError(NAME, `--addrs: "${badAddr ?? ''}" is not host:port`);
if (opts.dnsServer !== undefined && !/^[0-9a-f:.[\]]+(:\d{1,5})?$/i.test(opts.dnsServer)) usageError(NAME, `--dns-server: "${opts.dnsServer}" is not an IP address (with an optional :port)`);
const csvPath = opts.output === '-' ? undefined : opts.output;
const jsonFile = typeof opts.json === 'string' ? opts.json : undefined;
for (const [flag, file] of [['--output', csvPath], ['--json', jsonFile]] as const) {
  if (file === undefined) continue;
  await access(dirname(resolve(file)), constants.W_OK).catch(() => usageError(NAME, `${flag}: cannot write into the folder of "${file}"`));
}

const fromDns = opts.dns === undefined ? undefined : dnsPeers(opts.dns, opts.port, '', opts.dnsServer);
const targets = fromDns ? async () => (await fromDns()).map((p) => p.addr) : async () => addrs;
const controller = new AbortController();
process.on('SIGINT', () => controller.abort());
process.on('SIGTERM', () => controller.abort());
const durationMs = opts.lookups === undefined ? (opts.duration ?? 60_000) : undefined;
process.stderr.write(
  `${NAME}: ${opts.lookups ?? `${(durationMs ?? 0) / 1000} s of`} lookups at ${opts.rate}/s to ${opts.dns ? `${opts.dns}:${opts.port}` : addrs.join(', ')}, seed ${opts.seed}\n`,
);

let summary;
try {
  summary = await runLookupLoad({
    targets,
    rate: opts.rate,
    count: opts.lookups,
    durationMs,
    concurrency: opts.concurrency,
    idBits: opts.bits,
    seed: opts.seed,
    timeoutMs: opts.timeout,
    csvPath,
    signal: controller.signal,
  });
} catch (err) {
  process.stderr.write(`${NAME}: ${(err as Error).message}\n`);
  process.exit(1);
}
const json = JSON.stringify(summary, null, 2) + '\n';
if (jsonFile !== undefined) await writeFile(jsonFile, json);
process.stdout.write(opts.json === true ? json : formatLookupSummary(summary));
if (summary.lookups > 0 && summary.ok === 0) {
  process.stderr.write(`${NAME}: no lookup succeeded\n`);
  process.exitCode = 1;
}
