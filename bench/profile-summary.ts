/**
 * Summarises a V8 CPU profile (node --cpu-prof) of a node under load: the functions with the
 * most self time, and what share of the busy samples each part of the stack takes.
 *
 *   node --import tsx bench/profile-summary.ts [--from µs --to µs] [--top 25] <file.cpuprofile>
 *
 * --from/--to keep only samples taken in that period of the monotonic clock (process.hrtime,
 * µs), which `npm run bench:hitpath -- --profile DIR` prints for its measured load.
 *
 * Shares are of non-idle samples.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly startTime: number;
  /** µs since the previous sample (the first: since startTime). */
  readonly timeDeltas: readonly number[];
}

/**
 * Where a sample's CPU goes: to the innermost frame on its stack that is JavaScript of a package
 * or of the project, so Node internals and native code (a socket write, http2 framing) count for
 * whoever called them; GC and unattributed native time count as themselves.
 */
const OWNERS: readonly { readonly name: string; readonly matches: (url: string) => boolean }[] = [
  { name: 'grpc-js (with proto-loader, protobufjs)', matches: (url) => /node_modules\/(@grpc|protobufjs|@protobufjs)\//.test(url) },
  { name: 'OpenTelemetry', matches: (url) => url.includes('node_modules/@opentelemetry/') },
  { name: 'http-cache-semantics', matches: (url) => url.includes('node_modules/http-cache-semantics/') },
  { name: 'lru-cache', matches: (url) => url.includes('node_modules/lru-cache/') },
  { name: 'pino, prom-client', matches: (url) => /node_modules\/(pino|sonic-boom|thread-stream|prom-client)/.test(url) },
  { name: 'project code (dist/)', matches: (url) => url.includes('/dist/') },
  { name: 'other packages', matches: (url) => url.includes('node_modules/') },
];

/** Functions that build or check outgoing headers: Node's, http-cache-semantics' and the project's own. */
const NODE_HEADER_FUNCTIONS = /^(_storeHeader|processHeader|setHeader|writeHead|_implicitHeader|checkInvalidHeaderChar|checkIsHttpToken|validateHeaderName|validateHeaderValue|responseHeaders|_copyWithoutHopByHopHeaders|mapToHeaders|processHeaders|toHeaderObject)$/;
const buildsHeaders = (frame: ProfileNode) => NODE_HEADER_FUNCTIONS.test(frame.callFrame.functionName) || (frame.callFrame.url.includes('/dist/') && /header/i.test(frame.callFrame.functionName));

function ownerOf(stack: readonly ProfileNode[]): string {
  const top = stack[0]!.callFrame.functionName;
  if (top === '(garbage collector)' || top === '(program)') return top;
  for (const frame of stack) {
    const url = frame.callFrame.url;
    if (!url || url.startsWith('node:')) continue;
    return OWNERS.find((o) => o.matches(url))?.name ?? 'other';
  }
  return 'Node internals (no package on the stack: timers, socket callbacks)';
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string' } } });
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: profile-summary [--from µs --to µs] [--top n] <file.cpuprofile>\n');
  process.exit(2);
}
const from = Number(values.from ?? -Infinity);
const to = Number(values.to ?? Infinity);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
let at = profile.startTime;
const inPeriod = profile.samples.filter((_, i) => {
  at += profile.timeDeltas[i]!;
  return at >= from && at <= to;
});
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);

const isIdle = (n: ProfileNode) => n.callFrame.functionName === '(idle)';
const busy = inPeriod.filter((id) => !isIdle(byId.get(id)!));
const where = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/');
  return url ? `${url}:${n.callFrame.lineNumber + 1}` : '';
};

const self = new Map<string, number>();
const owners = new Map<string, number>();
let headerSelf = 0;
let headerIncl = 0;
for (const id of busy) {
  const stack: ProfileNode[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) stack.push(byId.get(at)!);
  const top = stack[0]!;
  const key = `${top.callFrame.functionName || '(anonymous)'} ${where(top)}`;
  self.set(key, (self.get(key) ?? 0) + 1);
  const owner = ownerOf(stack);
  owners.set(owner, (owners.get(owner) ?? 0) + 1);
  if (buildsHeaders(top)) headerSelf++;
  if (stack.some(buildsHeaders)) headerIncl++;
}

const pct = (n: number) => `${((100 * n) / busy.length).toFixed(1)} %`;
const lines = [
  `${file}: ${inPeriod.length} samples, ${busy.length} busy (${((100 * busy.length) / inPeriod.length).toFixed(1)} %)`,
  '',
  '| CPU goes to (innermost package frame on the stack) | share of busy samples |',
  '|---|---|',
  ...[...owners.entries()].sort((a, b) => b[1] - a[1]).map(([name, n]) => `| ${name} | ${pct(n)} |`),
  `| *header building (Node's and http-cache-semantics' header functions, the project's *header* functions; self / with callees)* | *${pct(headerSelf)} / ${pct(headerIncl)}* |`,
  '',
  '| function (file:line) | self |',
  '|---|---|',
  ...[...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(values.top ?? 25))
    .map(([key, n]) => `| \`${key}\` | ${pct(n)} |`),
];
process.stdout.write(lines.join('\n') + '\n');
