/**
 * npm test's runner: every *.test.ts under test/, in groups that run side by side, reported as
 * one TAP stream with one summary (CI reads its `# tests`, `# pass` and `# fail` lines).
 *
 *   node --import tsx test/run.ts
 *
 * The multi-process suites (test/integration) spend much of their time waiting for rings to
 * settle, so two of them share the 2-core machine well; more would starve each other's node
 * processes. The other files (unit, property, simulation, deploy) are mostly CPU-bound and short:
 * one at a time beside them, they are done long before the multi-process suites. The heaviest
 * suites then run alone (ALONE). Every file runs in its own process and fails when it takes more
 * than TEST_FILE_TIMEOUT_MS, so a hung child fails its file instead of blocking CI (node --test's
 * --test-timeout bounds a file the same way).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from 'node:test';
import { tap, type TestEvent } from 'node:test/reporters';

const TEST_FILE_TIMEOUT_MS = 300_000;
/**
 * Suites that keep more than one core busy on their own (the benchmark driver's clusters and load,
 * a 16-node ring and chromium, 8-node rings storing 1000 keys): beside other suites their nodes
 * miss RPC and start-up deadlines, so they run last, one at a time, with nothing beside them.
 */
const ALONE = ['test/integration/bench-driver.test.ts', 'test/integration/dashboard-browser.test.ts', 'test/integration/kv-cluster.test.ts'];
const inDirs = (...dirs: string[]) => dirs.flatMap(testFiles).filter((f) => !ALONE.includes(f));
/** Phases run one after the other; the groups of a phase run side by side. */
const PHASES = [
  [
    { files: inDirs('test/integration'), concurrency: 2 },
    { files: inDirs('test/unit', 'test/sim', 'test/deploy'), concurrency: 1 },
  ],
  [{ files: ALONE, concurrency: 1 }],
];
/** The root's closing diagnostics, which this runner adds up over the groups. */
const SUMMARY = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) [\d.]+$/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts')).map((f) => join(dir, f)).sort();
}

const scheduled = PHASES.flat().flatMap((g) => g.files);
const unscheduled = testFiles('test').filter((f) => !scheduled.includes(f));
if (unscheduled.length) {
  process.stderr.write(`test/run.ts: no group runs ${unscheduled.join(', ')}; add its folder to PHASES\n`);
  process.exit(2);
}

/**
 * One group's events, each top-level test with its subtests as one block: blocks of two groups
 * never interleave, and the top-level tests are numbered through. The group's own plan and
 * summary are held back for the totals.
 */
async function* blocks(events: AsyncIterable<TestEvent>, totals: Map<string, number>, numbering: { next: number }): AsyncGenerator<TestEvent[]> {
  let block: TestEvent[] = [];
  for await (const event of events) {
    const topLevel = (event.data as { nesting?: number } | undefined)?.nesting === 0;
    if (topLevel && event.type === 'test:plan') continue;
    if (topLevel && event.type === 'test:diagnostic' && SUMMARY.test(event.data.message)) {
      const [key, value] = event.data.message.split(' ') as [string, string];
      totals.set(key, (totals.get(key) ?? 0) + Number(value));
      continue;
    }
    block.push(event);
    if (topLevel && (event.type === 'test:pass' || event.type === 'test:fail')) {
      event.data.testNumber = ++numbering.next;
      yield block;
      block = [];
    }
  }
  if (block.length) yield block;
}

/** Yields the blocks of all sources as they complete, in whatever order. */
async function* merge<T>(sources: AsyncGenerator<T>[]): AsyncGenerator<T> {
  const next = (i: number) => sources[i]!.next().then((result) => ({ i, result }));
  const pending = new Map(sources.map((_, i) => [i, next(i)]));
  while (pending.size) {
    const { i, result } = await Promise.race(pending.values());
    if (result.done) pending.delete(i);
    else {
      pending.set(i, next(i));
      yield result.value;
    }
  }
}

const started = performance.now();
const totals = new Map<string, number>();
const numbering = { next: 0 };
let failed = false;

async function* report(): AsyncGenerator<TestEvent> {
  for (const phase of PHASES) {
    const groups = phase.map((g) => blocks(run({ files: g.files, concurrency: g.concurrency, timeout: TEST_FILE_TIMEOUT_MS }) as AsyncIterable<TestEvent>, totals, numbering));
    for await (const block of merge(groups)) {
      for (const event of block) {
        if (event.type === 'test:fail' && !event.data.todo) failed = true;
        yield event;
      }
    }
  }
  yield { type: 'test:plan', data: { nesting: 0, count: numbering.next } } as TestEvent;
  totals.set('duration_ms', performance.now() - started);
  for (const [key, value] of totals) yield { type: 'test:diagnostic', data: { nesting: 0, message: `${key} ${value}` } } as TestEvent;
}

for await (const line of tap(report())) process.stdout.write(line);
process.exitCode = failed ? 1 : 0;
