import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHttpServer, type TestServer } from '../helpers/http-server.js';
import { ProcessGroup } from '../helpers/processes.js';

const CLI = resolve('dist/cli/cache-workload.js');
const DEMO = 'http://127.0.0.1:9/demo';

function fakeNode(demoOrigin: string | undefined, seen: string[]): Promise<TestServer> {
  return startHttpServer((req, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://node');
    if (url.pathname === '/health') {
      // Answered with 503 as a node that is still joining: its details count all the same.
      return res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ healthy: false, status: 'NOT_INITIALIZED', details: demoOrigin ? { demo_origin: demoOrigin } : {} }));
    }
    seen.push(url.searchParams.get('url') ?? '');
    res.writeHead(200, { 'x-cache': 'HIT-LOCAL' }).end('ok');
  });
}

describe('cache-workload - the seed command without --url-template', () => {
  const group = new ProcessGroup();
  const seen: string[] = [];
  let advertising: TestServer;
  let silent: TestServer;
  before(async () => {
    advertising = await fakeNode(DEMO, seen);
    silent = await fakeNode(undefined, []);
  });
  after(async () => {
    await group.stopAll();
    await Promise.all([advertising?.close(), silent?.close()]);
  });

  /** Runs the CLI in a fresh folder, as a user would from their shell, and returns that folder. */
  async function run(args: string[]) {
    const dir = mkdtempSync(join(tmpdir(), 'koorde-workload-'));
    const proc = group.spawn('cache-workload', 'sh', ['-c', `cd "$1" && shift && exec "$@"`, 'sh', dir, process.execPath, CLI, ...args]);
    return { dir, code: await proc.exited, output: proc.output() };
  }

  it('requests the objects of the demo origin the target advertises, and writes results.csv like the original tool', async () => {
    const { dir, code, output } = await run(['--target', advertising.url, '--urls', '5', '--requests', '20', '--rate', '200']);
    assert.equal(code, 0, output);
    assert.equal(seen.length, 20);
    assert.ok(seen.every((u) => /^http:\/\/127\.0\.0\.1:9\/demo\/obj\/[1-5]$/.test(u)), seen.join(' '));
    assert.equal(readFileSync(join(dir, 'results.csv'), 'utf8').trimEnd().split('\n').length, 21);
  });

  it('--output - writes no CSV', async () => {
    const { dir, code, output } = await run(['--target', advertising.url, '--urls', '5', '--requests', '5', '--output', '-']);
    assert.equal(code, 0, output);
    assert.equal(existsSync(join(dir, 'results.csv')), false);
  });

  it('exits 2 with one sentence saying what to pass when the target advertises no demo origin', async () => {
    const { code, output } = await run(['--target', silent.url, '--urls', '5', '--requests', '5']);
    assert.equal(code, 2);
    assert.equal(output.trim().split('\n').length, 1, output);
    assert.match(output, /^cache-workload: no --url-template given and http:\/\/127\.0\.0\.1:\d+ advertises no demo origin \(CACHE_DEMO_ORIGIN is not set there\): pass --url-template 'http:\/\/<an origin the cluster may fetch>\/obj\/\{i\}'$/m);
  });
});
