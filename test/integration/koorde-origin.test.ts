import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProcessGroup, waitFor, type Managed } from '../helpers/processes.js';

const ORIGIN = 'dist/cli/koorde-origin.js';

/** Starts koorde-origin on a free loopback port and resolves with its base URL. */
async function startOrigin(group: ProcessGroup, args: string[] = []): Promise<{ proc: Managed; url: string }> {
  const proc = group.node('koorde-origin', ORIGIN, ['--port', '0', ...args]);
  const url = await waitFor('koorde-origin to listen', async () => /^listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(proc.output())?.[1], 10_000, 20);
  return { proc, url };
}

describe('integration - koorde-origin', () => {
  const group = new ProcessGroup();
  let base = '';
  after(() => group.stopAll());
  before(async () => {
    base = (await startOrigin(group, ['--size', '300', '--cache-control', 'public, max-age=60'])).url;
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => fetch(`${base}${path}`, { method, headers });
  const stats = async () => (await (await get('/stats')).json()) as { total: number; by_path: Record<string, number>; by_method: Record<string, number>; by_status: Record<string, number> };

  it('serves the same bytes for the same id, different bytes for another id, with validators and the default Cache-Control', async () => {
    const [a1, a2, b] = await Promise.all([get('/obj/alpha'), get('/obj/alpha'), get('/obj/beta')]);
    const [ba1, ba2, bb] = await Promise.all([a1.arrayBuffer(), a2.arrayBuffer(), b.arrayBuffer()]);
    assert.equal(a1.status, 200);
    assert.equal(ba1.byteLength, 300);
    assert.equal(a1.headers.get('content-length'), '300');
    assert.match(a1.headers.get('content-type')!, /^text\/plain/);
    assert.deepEqual(Buffer.from(ba1), Buffer.from(ba2));
    assert.notDeepEqual(Buffer.from(ba1), Buffer.from(bb));
    assert.match(Buffer.from(ba1).toString(), /^koorde-origin \/obj\/alpha version 1\n/);
    assert.match(a1.headers.get('etag')!, /^"[0-9a-f]+"$/);
    assert.equal(a1.headers.get('etag'), a2.headers.get('etag'));
    assert.notEqual(a1.headers.get('etag'), b.headers.get('etag'));
    assert.equal(a1.headers.get('cache-control'), 'public, max-age=60');
    const lastModified = Date.parse(a1.headers.get('last-modified')!);
    assert.ok(Date.now() - lastModified > 3500_000 && Date.now() - lastModified < 3700_000, 'Last-Modified is about an hour ago');
    const head = await get('/obj/alpha', {}, 'HEAD');
    assert.equal(head.headers.get('etag'), a1.headers.get('etag'));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });

  it('answers If-None-Match and If-Modified-Since with 304', async () => {
    const first = await get('/obj/cond');
    await first.arrayBuffer();
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    const byTag = await get('/obj/cond', { 'if-none-match': `"nope", W/${etag}` });
    assert.equal(byTag.status, 304);
    assert.equal(byTag.headers.get('etag'), etag);
    assert.equal(byTag.headers.get('cache-control'), 'public, max-age=60');
    assert.equal((await get('/obj/cond', { 'if-none-match': '"other"' })).status, 200);
    assert.equal((await get('/obj/cond', { 'if-modified-since': lastModified })).status, 304);
    assert.equal((await get('/obj/cond', { 'if-modified-since': new Date(Date.parse(lastModified) - 10_000).toUTCString() })).status, 200);
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    assert.equal((await get('/obj/cond', { 'if-none-match': '"other"', 'if-modified-since': lastModified })).status, 200);
  });

  it('shapes each response through query parameters', async () => {
    const none = await get('/obj/q?cc=&etag=none&lm=none');
    assert.equal(none.headers.get('cache-control'), null);
    assert.equal(none.headers.get('etag'), null);
    assert.equal(none.headers.get('last-modified'), null);
    const shaped = await get('/obj/q?cc=no-store&expires=120&age=30&size=10&status=404&lm=7200');
    assert.equal(shaped.status, 404);
    assert.equal(shaped.headers.get('cache-control'), 'no-store');
    assert.equal(shaped.headers.get('age'), '30');
    const expires = Date.parse(shaped.headers.get('expires')!) - Date.now();
    assert.ok(expires > 110_000 && expires <= 121_000, `Expires ${expires} ms ahead`);
    assert.ok(Date.now() - Date.parse(shaped.headers.get('last-modified')!) >= 7_199_000);
    assert.equal((await shaped.arrayBuffer()).byteLength, 10);
    const v1 = await get('/obj/q?version=7');
    const v2 = await get('/obj/q?version=8');
    assert.notEqual(v1.headers.get('etag'), v2.headers.get('etag'));
    assert.match(await v1.text(), /version 7/);
    const started = performance.now();
    await (await get('/obj/q?delay=150')).arrayBuffer();
    assert.ok(performance.now() - started >= 140);
    const bad = await get('/obj/q?size=-1');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /size=-1/);
  });

  it('varies the body and ETag by the header named in vary=', async () => {
    const fr = await get('/obj/v?vary=Accept-Language', { 'accept-language': 'fr' });
    const de = await get('/obj/v?vary=Accept-Language', { 'accept-language': 'de' });
    assert.equal(fr.headers.get('vary'), 'Accept-Language');
    assert.notEqual(fr.headers.get('etag'), de.headers.get('etag'));
    assert.match(await fr.text(), /Accept-Language: fr/);
    assert.match(await de.text(), /Accept-Language: de/);
  });

  it('bumps the version of an object on any unsafe method', async () => {
    const before = await get('/obj/doc');
    const body = await before.text();
    const post = await get('/obj/doc', {}, 'POST');
    assert.equal(post.status, 200);
    assert.deepEqual(await post.json(), { id: 'doc', method: 'POST', version: 2, received: 0 });
    const put = await fetch(`${base}/obj/doc`, { method: 'PUT', body: 'twelve bytes' });
    assert.deepEqual(await put.json(), { id: 'doc', method: 'PUT', version: 3, received: 12 });
    const after = await get('/obj/doc');
    assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
    const text = await after.text();
    assert.notEqual(text, body);
    assert.match(text, /version 3/);
    assert.equal((await get('/obj/doc', { 'if-none-match': before.headers.get('etag')! })).status, 200, 'the old ETag no longer matches');
  });

  it('counts every request by path with query, method and status; reset zeroes them', async () => {
    assert.equal((await fetch(`${base}/admin/reset`, { method: 'POST' })).status, 200);
    assert.equal((await stats()).total, 0);
    await (await get('/obj/1?cc=no-store')).arrayBuffer();
    await (await get('/obj/1?cc=no-store')).arrayBuffer();
    const etag = (await get('/obj/1')).headers.get('etag')!;
    await (await get('/obj/1', { 'if-none-match': etag })).arrayBuffer();
    await (await get('/obj/1', {}, 'HEAD')).arrayBuffer();
    await (await get('/nothing')).arrayBuffer();
    const s = await stats();
    assert.equal(s.total, 6);
    assert.deepEqual(s.by_path, { '/obj/1?cc=no-store': 2, '/obj/1': 3, '/nothing': 1 });
    assert.deepEqual(s.by_method, { GET: 5, HEAD: 1 });
    assert.equal(s.by_status['304'], 1);
    assert.equal(s.by_status['404'], 1);
  });

  it('fails every /obj request with 500 between /admin/fail and /admin/recover', async () => {
    assert.deepEqual(await (await fetch(`${base}/admin/fail`, { method: 'POST' })).json(), { failing: true });
    const failed = await get('/obj/f');
    assert.equal(failed.status, 500);
    await failed.arrayBuffer();
    await (await fetch(`${base}/admin/recover`, { method: 'POST' })).arrayBuffer();
    assert.equal((await get('/obj/f')).status, 200);
    assert.equal((await get('/admin/fail')).status, 405);
  });
});

describe('integration - koorde-origin command line', () => {
  const group = new ProcessGroup();
  after(() => group.stopAll());

  for (const args of [['--port', 'http'], ['--size', '-5'], ['--latency-ms', 'slow'], ['--colour']]) {
    it(`exits 2 with a one-line reason on ${args.join(' ')}`, async () => {
      const proc = group.node('bad-origin', ORIGIN, args);
      assert.equal(await proc.exited, 2);
      assert.match(proc.output(), /^koorde-origin: .+\n$/);
    });
  }

  it('--help lists the options and the query parameters', async () => {
    const proc = group.node('help', ORIGIN, ['--help']);
    assert.equal(await proc.exited, 0);
    for (const text of ['--port', '--host', '--size', '--cache-control', '--latency-ms', 'cc=', 'vary=', '/admin/fail']) assert.ok(proc.output().includes(text), text);
  });

  it('stops cleanly on SIGTERM', async () => {
    const { proc } = await startOrigin(group);
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
  });
});
