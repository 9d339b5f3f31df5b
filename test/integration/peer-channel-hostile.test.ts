import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startNodes, type TestNode } from '../helpers/node-cluster.js';
import { freePorts, ProcessGroup, waitFor } from '../helpers/processes.js';
import { answersHealth, RawPeer } from '../helpers/raw-grpc.js';

/** What a peer answers: status and the error code of its JSON body, if any. */
async function post(port: number, init: { path?: string; method?: string; body?: string; headers?: Record<string, string> }): Promise<{ status: number; error?: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${init.path ?? '/v1/fetch'}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.body,
  });
  const text = await res.text();
  let error: string | undefined;
  try {
    error = (JSON.parse(text) as { error?: string }).error;
  } catch {
    // not every refusal (431 from the HTTP parser) carries JSON
  }
  return { status: res.status, error };
}

const request = (fields: Record<string, unknown>) => JSON.stringify({ url: 'http://127.0.0.1:9/x', method: 'GET', headers: [], ...fields });

describe('integration - the peer data channel - hostile input on loopback', () => {
  const group = new ProcessGroup();
  let node: TestNode;
  let peerPort: number;

  before(async () => {
    [peerPort] = (await freePorts(1)) as [number];
    [node] = (await startNodes(group, 1, { protocol: 'chord', env: { CACHE_PEER_PORT: String(peerPort), BOOTSTRAP_PEERS: '' } })) as [TestNode];
    await waitFor('the node to be ready', async () => (await fetch(`${node.http}/health`).catch(() => undefined))?.status === 200);
  });
  after(() => group.stopAll());

  it('announces its peer port on the control plane', async () => {
    const peer = new RawPeer(node.addr);
    try {
      const answer = await peer.call('PeerPort', {}, 'cache');
      assert.equal(answer.code, 0);
      assert.equal(answer.response?.port, peerPort);
    } finally {
      peer.close();
    }
  });

  it('refuses garbage with a clean 4xx and keeps serving', async () => {
    const cases: [string, Parameters<typeof post>[1], number, string | undefined][] = [
      ['garbage JSON', { body: '{"url": "http://a/' }, 400, 'ERR_INVALID_ARGUMENT'],
      ['a JSON array', { body: '[1,2,3]' }, 400, 'ERR_INVALID_ARGUMENT'],
      ['the wrong method', { method: 'GET' }, 405, 'ERR_INVALID_ARGUMENT'],
      ['a method other than GET or HEAD in the request', { body: request({ method: 'DELETE' }) }, 400, 'ERR_INVALID_ARGUMENT'],
      ['a 5000-character path', { path: '/' + 'a'.repeat(5000) }, 404, 'ERR_NOT_FOUND'],
      ['a 20000-character URL', { body: request({ url: 'http://a.test/' + 'a'.repeat(20_000) }) }, 400, 'ERR_INVALID_ARGUMENT'],
      ['a file: URL', { body: request({ url: 'file:///etc/passwd' }) }, 400, 'ERR_INVALID_ARGUMENT'],
      ['a javascript: URL', { body: request({ url: 'javascript:alert(1)' }) }, 400, 'ERR_INVALID_ARGUMENT'],
      ['a relative URL', { body: request({ url: '/etc/passwd' }) }, 400, 'ERR_INVALID_ARGUMENT'],
      ['too many headers', { body: request({ headers: Array.from({ length: 500 }, (_, i) => ({ name: `x-h${i}`, value: 'v' })) }) }, 400, 'ERR_INVALID_ARGUMENT'],
      ['a header with CR LF', { body: request({ headers: [{ name: 'accept', value: 'a\r\nx-injected: 1' }] }) }, 400, 'ERR_INVALID_ARGUMENT'],
      ['a header name that is no token', { body: request({ headers: [{ name: 'Bad Name:', value: 'v' }] }) }, 400, 'ERR_INVALID_ARGUMENT'],
      ['a non-boolean route flag', { body: request({ from_route_cache: 'yes' }) }, 400, 'ERR_INVALID_ARGUMENT'],
      ['a 200 KiB body', { body: request({ pad: 'x'.repeat(200 * 1024) }) }, 413, 'ERR_TOO_LARGE'],
      ['huge request headers', { headers: { 'x-huge': 'h'.repeat(64 * 1024) }, body: request({}) }, 431, undefined],
    ];
    for (const [what, init, status, error] of cases) {
      const answer = await post(peerPort, init).catch((err: unknown) => ({ status: 0, error: String(err) }));
      assert.deepEqual(answer, { status, error }, what);
      assert.ok(await answersHealth(node.http), `/health answers after ${what}`);
    }
  });

  it('survives a client that sends half a request and hangs up', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(peerPort, '127.0.0.1', () => {
        socket.write('POST /v1/fetch HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{"url":');
        socket.destroy();
        resolve();
      });
    });
    assert.ok(await answersHealth(node.http));
    assert.equal((await post(peerPort, { body: 'nope' })).status, 400);
  });
});
