#!/usr/bin/env node
import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { demoOriginTemplate } from '../workload/demo-origin.js';
import { formatSummary, lateStartWarning, type PacingPlan } from '../workload/format.js';
import { terminalProgress, type Progress } from '../workload/progress.js';
import { WORKLOAD_MODES, type WorkloadMode } from '../workload/request-url.js';
import { MAX_URLS, WORKLOAD_DEFAULTS, runWorkload, workloadProblems, type WorkloadInit } from '../workload/run.js';
import { command, decimal, duration, integer, oneOf, usageError } from './options.js';

const NAME = 'cache-workload';
const d = WORKLOAD_DEFAULTS;
const program = command(NAME, 'Load generator for the cache: Zipf-popular URLs, open-loop rate or closed loop, latency, hit rate and hops.')
  .option('--target <url>', 'base URL of a node or load balancer, e.g. http://127.0.0.1:8080')
  .option('--targets <a,b,c>', 'several base URLs, used round-robin (instead of --target)')
  .option('--urls <n>', 'distinct objects (ranks 1..n)', integer(1, MAX_URLS), d.urls)
  .option('--requests <n>', `measured requests (default ${d.requests} unless --duration is given)`, integer(1))
  .option('--duration <d>', 'start requests for this long instead, e.g. 30s or 2m', duration)
  .option('--rate <r>', 'open loop: requests per second on a fixed schedule (default: closed loop)', decimal(0, 10_000_000))
  .option('--concurrency <c>', 'most requests in flight (closed loop: the number of workers)', integer(1, 100_000), d.concurrency)
  .option('--zipf <s>', 'Zipf exponent of popularity, any s > 0', decimal(0, 1000), d.zipf)
  .option('--seed <n>', 'seed of the URL sequence', integer(0, 2 ** 32 - 1), d.seed)
  .option('--url-template <t>', "origin URL of object {i} (default: the demo origin the target advertises in /health, CACHE_DEMO_ORIGIN, + '/obj/{i}')")
  .option('--mode <mode>', 'cache: GET {target}/cache?url=…; gateway: GET {target}{path of the URL}', oneOf(WORKLOAD_MODES), d.mode)
  .option('--timeout <d>', 'deadline of one request', duration, d.timeoutMs)
  .option('--warmup <n>', 'requests sent first, at the same pace, and not counted', integer(0), d.warmup)
  .option('--output <file>', 'CSV, one row per measured request ("-": none)', 'results.csv')
  .option('--json [file]', 'write the summary as JSON to file (without a file: print it instead of the text summary)')
  .addHelpText(
    'after',
    `
Success is a 2xx or 3xx answer. Latency quantiles are over successful requests. Hit rate is the
share of successful responses whose X-Cache starts with HIT or is REVALIDATED. In open loop,
requests held back by --concurrency are reported as late starts, never silently dropped.
Exit code: 0 after a run, 1 if no request succeeded, 2 on bad arguments.`,
  )
  .parse();

const opts = program.opts<{
  target?: string;
  targets?: string;
  urls: number;
  requests?: number;
  duration?: number;
  rate?: number;
  concurrency: number;
  zipf: number;
  seed: number;
  urlTemplate?: string;
  mode: WorkloadMode;
  timeout: number;
  warmup: number;
  output: string;
  json?: string | true;
}>();

if ((opts.target === undefined) === (opts.targets === undefined)) usageError(NAME, 'give exactly one of --target URL and --targets a,b,c');
const targets = opts.target !== undefined ? [opts.target] : opts.targets!.split(',').map((t) => t.trim()).filter(Boolean);
const csvPath = opts.output === '-' ? undefined : opts.output;
const controller = new AbortController();
const bar = terminalProgress();
// The measured run starts when the warm-up ends; the line lets a benchmark start its own
// measurements (CPU time, memory) from the same moment.
const progress: Progress = {
  start(plan) {
    if (opts.warmup > 0) process.stderr.write(`${NAME}: warm-up of ${opts.warmup} requests done, measuring\n`);
    bar?.start(plan);
  },
  update: (state) => bar?.update(state),
  stop: () => bar?.stop(),
};
const given: WorkloadInit = {
  targets,
  urls: opts.urls,
  requests: opts.requests,
  durationMs: opts.duration,
  rate: opts.rate,
  concurrency: opts.concurrency,
  zipf: opts.zipf,
  seed: opts.seed,
  urlTemplate: opts.urlTemplate,
  mode: opts.mode,
  timeoutMs: opts.timeout,
  warmup: opts.warmup,
  csvPath,
  progress,
  signal: controller.signal,
};
const [problem] = workloadProblems(given);
if (problem) usageError(NAME, problem);
const jsonFile = typeof opts.json === 'string' ? opts.json : undefined;
for (const [flag, file] of [['--output', csvPath], ['--json', jsonFile]] as const) {
  if (file === undefined) continue;
  // Fail now rather than after a long run.
  await access(dirname(resolve(file)), constants.W_OK).catch(() => usageError(NAME, `${flag}: cannot write into the folder of "${file}"`));
}
let urlTemplate = opts.urlTemplate;
if (urlTemplate === undefined && targets[0] !== undefined) {
  const choice = await demoOriginTemplate(targets[0], opts.timeout);
  if ('problem' in choice) usageError(NAME, choice.problem);
  urlTemplate = choice.urlTemplate;
}
const init: WorkloadInit = { ...given, urlTemplate };

// Ctrl-C once: start nothing new, let requests in flight finish, print the summary; twice: quit.
process.on('SIGINT', () => {
  if (controller.signal.aborted) {
    progress.stop(); // gives the terminal its cursor back
    process.exit(130);
  }
  process.stderr.write(`${NAME}: stopping, waiting for requests in flight (Ctrl-C again to quit)\n`);
  controller.abort();
});

const plan: PacingPlan = { rate: opts.rate, concurrency: opts.concurrency };
const amount = opts.duration === undefined ? `${opts.requests ?? d.requests} requests` : `requests for ${opts.duration / 1000} s`;
const pacing = opts.rate === undefined ? `closed loop, ${opts.concurrency} in flight` : `${opts.rate} req/s, at most ${opts.concurrency} in flight`;
process.stderr.write(`${NAME}: ${amount} to ${targets.join(', ')} (${opts.mode} mode), Zipf(${opts.zipf}) over ${opts.urls} URLs of ${urlTemplate}, ${pacing}, seed ${opts.seed}\n`);

const summary = await runWorkload(init);
const json = JSON.stringify(summary, null, 2) + '\n';
if (jsonFile !== undefined) await writeFile(jsonFile, json);
if (opts.json === true) {
  process.stdout.write(json);
  const late = lateStartWarning(summary, plan);
  if (late) process.stderr.write(`${late}\n`);
} else {
  process.stdout.write(formatSummary(summary, plan));
}
if (summary.requests > 0 && summary.ok === 0) {
  process.stderr.write(`${NAME}: no request succeeded\n`);
  process.exitCode = 1;
}
