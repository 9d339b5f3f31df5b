/**
 * Summarises a V8 CPU profile (node --cpu-prof) of a node under load: the functions with the
 * most self time, and what share of the busy samples each part of the stack takes.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [top=25]
 *
 * Shares are of non-idle samples. "self" counts samples whose top frame belongs to the part;
 * "incl." counts samples with any frame of it on the stack (grpc-js's time in node:http2 is grpc-js's).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

/** Parts of the stack the data-plane rewrite cares about, by where a frame's code lives. */
const PARTS: readonly { readonly name: string; readonly matches: (fn: string, url: string) => boolean }[] = [
  { name: 'grpc-js (and proto-loader, protobufjs)', matches: (_, url) => /node_modules\/(@grpc|protobufjs|@protobufjs)\//.test(url) },
  { name: 'OpenTelemetry', matches: (_, url) => url.includes('node_modules/@opentelemetry/') },
  { name: 'http-cache-semantics', matches: (_, url) => url.includes('node_modules/http-cache-semantics/') },
  { name: 'pino (logging)', matches: (_, url) => /node_modules\/(pino|sonic-boom|thread-stream)/.test(url) },
  { name: 'prom-client', matches: (_, url) => url.includes('node_modules/prom-client/') },
  { name: 'header building (node:_http_outgoing, project *header* functions)', matches: (fn, url) => url === 'node:_http_outgoing' || (/header/i.test(fn) && url.includes('/dist/')) },
  { name: 'node:http server and parser (_http_server, _http_common, _http_incoming)', matches: (_, url) => /^node:_http_(server|common|incoming)$/.test(url) },
  { name: 'node:http2', matches: (_, url) => url.startsWith('node:internal/http2') },
  { name: 'project code (dist/)', matches: (_, url) => url.includes('/dist/') },
  { name: 'garbage collector', matches: (fn) => fn === '(garbage collector)' },
];

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary <file.cpuprofile> [top]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);

const isIdle = (n: ProfileNode) => n.callFrame.functionName === '(idle)';
const busy = profile.samples.filter((id) => !isIdle(byId.get(id)!));
const where = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/');
  return url ? `${url}:${n.callFrame.lineNumber + 1}` : '';
};

const self = new Map<string, number>();
const partSelf = new Map<string, number>();
const partIncl = new Map<string, number>();
for (const id of busy) {
  const top = byId.get(id)!;
  const key = `${top.callFrame.functionName || '(anonymous)'} ${where(top)}`;
  self.set(key, (self.get(key) ?? 0) + 1);
  const topPart = PARTS.find((p) => p.matches(top.callFrame.functionName, top.callFrame.url));
  if (topPart) partSelf.set(topPart.name, (partSelf.get(topPart.name) ?? 0) + 1);
  const onStack = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const frame = byId.get(at)!.callFrame;
    for (const part of PARTS) if (part.matches(frame.functionName, frame.url)) onStack.add(part.name);
  }
  for (const name of onStack) partIncl.set(name, (partIncl.get(name) ?? 0) + 1);
}

const pct = (n: number) => `${((100 * n) / busy.length).toFixed(1)} %`;
const lines = [
  `${file}: ${profile.samples.length} samples, ${busy.length} busy (${((100 * busy.length) / profile.samples.length).toFixed(1)} %)`,
  '',
  '| part | self | incl. |',
  '|---|---|---|',
  ...PARTS.map((p) => `| ${p.name} | ${pct(partSelf.get(p.name) ?? 0)} | ${pct(partIncl.get(p.name) ?? 0)} |`),
  '',
  '| function (file:line) | self |',
  '|---|---|',
  ...[...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(topArg ?? 25))
    .map(([key, n]) => `| \`${key}\` | ${pct(n)} |`),
];
process.stdout.write(lines.join('\n') + '\n');
