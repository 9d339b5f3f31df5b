#!/usr/bin/env node
import { whenParentGone } from '../cluster/parent-pipe.js';
import { MAX_SYNTHETIC_SIZE, SyntheticOrigin } from '../synthetic/origin-server.js';
import { command, integer } from './options.js';

const NAME = 'koorde-origin';
const program = command(NAME, 'A local synthetic origin: deterministic bodies, validators and freshness shaped per request, request counts.')
  .option('--port <n>', 'port to listen on (0: any free port)', integer(0, 65535), 9000)
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--size <bytes>', 'body size of every object', integer(0, MAX_SYNTHETIC_SIZE), 1024)
  .option('--cache-control <value>', 'Cache-Control of every object', 'public, max-age=300')
  .option('--latency-ms <n>', 'delay before every /obj answer', integer(0, 600_000), 0)
  .addHelpText(
    'after',
    `
Endpoints:
  GET|HEAD /obj/<id>     a body of --size bytes, the same for the same id, size and version;
                         strong ETag, Last-Modified one hour before start, 304 on If-None-Match /
                         If-Modified-Since
  POST|PUT|PATCH|DELETE /obj/<id>
                         200 JSON; bumps the object's version (new ETag, new body)
  GET /stats             {total, by_path, by_method, by_status}; /stats and /admin/* are not counted
  POST /admin/fail       every /obj request answers 500 ...
  POST /admin/recover    ... until this
  POST /admin/reset      zero the counts

Query parameters of /obj/<id> (per request):
  cc=<Cache-Control>     replaces --cache-control; empty: no Cache-Control header
  expires=<s>            Expires header, s seconds from now (negative: in the past)
  lm=<s>|none            Last-Modified s seconds ago, or none
  etag=none              no ETag
  vary=<header>          Vary header; the body and ETag include that request header's value
  age=<s>                an Age header, as if from an upstream cache
  size=<bytes>  status=<code>  delay=<ms>  version=<n>

Example:
  $ ${NAME} --port 9000 --size 4096 &
  $ curl -i 'http://127.0.0.1:9000/obj/42?cc=max-age=0'
`,
  )
  .parse();
const opts = program.opts<{ port: number; host: string; size: number; cacheControl: string; latencyMs: number }>();

const origin = new SyntheticOrigin(opts);
// Before "listening" is printed: whoever reads that line may stop us at once.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void origin.close().finally(() => process.exit(0));
  });
}
try {
  process.stdout.write(`listening on ${await origin.listen()}\n`);
} catch (err) {
  process.stderr.write(`${NAME}: cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}\n`);
  process.exit(1);
}

// Started by a benchmark that died without stopping us.
whenParentGone(process.env, () => process.exit(1));
