#!/usr/bin/env node
import { CacheClientError, CacheHttpClient, httpError } from '../client/cache-http-client.js';
import { formatCacheAnswer, formatDebug, formatHealth, formatHotspots, formatMetrics } from './cache-format.js';
import { command, duration, integer, usageError } from './options.js';
import { runRepl } from './repl.js';

const NAME = 'cache-client';
const program = command(NAME, "Interactive client of a node's HTTP cache API. Reads commands from a terminal or a pipe.")
  .option('--addr <url>', 'HTTP API of the node (or load balancer) to talk to', 'http://localhost:8080')
  .option('--timeout <duration>', 'deadline of each request', duration, 10_000)
  .option('--preview <bytes>', 'how many bytes of a body `cache` shows', integer(0, 4096), 64)
  .parse();
const opts = program.opts<{ addr: string; timeout: number; preview: number }>();

const connect = (addr: string) => new CacheHttpClient(addr, opts.timeout);
// `use 127.0.0.1:8081`, as the original client took it: a bare host:port means plain HTTP.
const withScheme = (addr: string) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(addr) ? addr : `http://${addr}`);
let client: CacheHttpClient;
try {
  client = connect(opts.addr);
} catch (err) {
  usageError(NAME, `--addr: ${(err as Error).message}`);
}

await runRepl({
  prompt: 'cache> ',
  commands: {
    cache: {
      usage: 'cache <url>',
      help: 'GET /cache?url=…: status, X-Cache, node, responsible node, hops, latency, first bytes',
      minArgs: 1,
      aliases: ['get'],
      run: async ([url]) => {
        const answer = await client.cache(url!);
        // An error of the node itself (JSON, no X-Cache) rather than an origin's answer passed on.
        if (answer.status >= 400 && answer.headers['x-cache'] === undefined && /json/.test(String(answer.headers['content-type']))) throw httpError(answer);
        return formatCacheAnswer(answer, opts.preview);
      },
    },
    metrics: { usage: 'metrics', help: "the node's main figures (GET /metrics)", minArgs: 0, aliases: ['stats'], run: async () => formatMetrics((await client.json('/metrics')).value) },
    health: {
      usage: 'health',
      help: 'readiness (GET /health)',
      minArgs: 0,
      run: async () => {
        const { status, value } = await client.json('/health', [503]);
        return formatHealth(status, value);
      },
    },
    hotspots: { usage: 'hotspots', help: 'hot URLs (from /metrics)', minArgs: 0, aliases: ['hot'], run: async () => formatHotspots((await client.json('/metrics')).value) },
    debug: { usage: 'debug', help: "the node's routing state (GET /debug)", minArgs: 0, run: async () => formatDebug((await client.json('/debug')).value) },
    use: {
      usage: 'use <url>',
      help: 'talk to another node, e.g. use http://127.0.0.1:8081 or use 127.0.0.1:8081',
      minArgs: 1,
      aliases: ['connect'],
      run: async ([addr]) => {
        client = connect(withScheme(addr!));
        return `now using ${client.base}`;
      },
    },
  },
  explain: (err) => (err instanceof CacheClientError ? `error: ${err.kind} — ${err.message}` : `error: ${(err as Error).message}`),
  onExit: () => undefined,
});
