import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { frame, frameHeader, FrameReader, FrameType } from '../../src/transport/peer/frames.js';
import { startNodes, type TestNode } from '../helpers/node-cluster.js';
import { freePorts, ProcessGroup, waitFor } from '../helpers/processes.js';
import { answersHealth, RawPeer } from '../helpers/raw-grpc.js';

interface Answer {
  readonly id: number;
  readonly type: number;
  readonly error?: string;
}

/** A raw connection to a node's peer port: sends bytes, collects the frames it answers with. */
class RawEntry {
  readonly answers: Answer[] = [];
  readonly closed: Promise<void>;
  private readonly socket: Socket;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('error', () => undefined);
    const reader = new FrameReader(
      () => 1 << 20,
      (id, type, payload) => {
        const error = type === FrameType.ERROR ? (JSON.parse(payload.toString('utf8')) as { error: string }).error : undefined;
        this.answers.push({ id, type, error });
      },
    );
    this.socket.on('data', (chunk: Buffer) => reader.push(chunk));
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  send(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** The request's final frame (END or ERROR). */
  async final(id: number): Promise<Answer> {
    await waitFor(`an answer to request ${id}`, async () => this.answers.some((a) => a.id === id && (a.type === FrameType.END || a.type === FrameType.ERROR)));
    return this.answers.find((a) => a.id === id && (a.type === FrameType.END || a.type === FrameType.ERROR))!;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const fetchFrame = (id: number, fields: Record<string, unknown>) => frame(id, FrameType.FETCH, Buffer.from(JSON.stringify({ url: 'http://127.0.0.1:9/x', method: 'GET', headers: [], ...fields })));

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

  it('refuses a bad request with an error frame for that request and keeps the connection', async () => {
    const entry = new RawEntry(peerPort);
    try {
      const cases: [string, Buffer][] = [
        ['garbage JSON', frame(1, FrameType.FETCH, Buffer.from('{"url": "http://a/'))],
        ['a JSON array', frame(2, FrameType.FETCH, Buffer.from('[1,2,3]'))],
        ['a method other than GET or HEAD', fetchFrame(3, { method: 'DELETE' })],
        ['a 20000-character URL', fetchFrame(4, { url: 'http://a.test/' + 'a'.repeat(20_000) })],
        ['a file: URL', fetchFrame(5, { url: 'file:///etc/passwd' })],
        ['a javascript: URL', fetchFrame(6, { url: 'javascript:alert(1)' })],
        ['a relative URL', fetchFrame(7, { url: '/etc/passwd' })],
        ['too many headers', fetchFrame(8, { headers: Array.from({ length: 500 }, (_, i) => [`x-h${i}`, 'v']).flat() })],
        ['a header with CR LF', fetchFrame(9, { headers: ['accept', 'a\r\nx-injected: 1'] })],
        ['a header name that is no token', fetchFrame(10, { headers: ['Bad Name:', 'v'] })],
        ['a non-boolean route flag', fetchFrame(11, { from_route_cache: 'yes' })],
        ['a header name without its value', fetchFrame(12, { headers: ['accept'] })],
        ['headers as objects rather than a flat list', fetchFrame(13, { headers: [{ name: 'accept', value: 'v' }] })],
      ];
      for (const [what, bytes] of cases) {
        const id = bytes.readUInt32BE(4);
        entry.send(bytes);
        assert.deepEqual(await entry.final(id), { id, type: FrameType.ERROR, error: 'ERR_INVALID_ARGUMENT' }, what);
      }
      // The same connection still serves: a well-formed request gets its own answer (the origin port is closed).
      entry.send(fetchFrame(14, {}));
      assert.equal((await entry.final(14)).type, FrameType.ERROR);
      assert.notEqual((await entry.final(14)).error, 'ERR_INVALID_ARGUMENT');
      assert.ok(await answersHealth(node.http));
    } finally {
      entry.destroy();
    }
  });

  it('answers a malformed frame with a connection error, closes that connection, and keeps serving', async () => {
    const cases: [string, Buffer | string][] = [
      ['bytes that are no frame', 'GET / HTTP/1.1\r\nhost: x\r\n\r\n'],
      ['a frame over the size limit (its payload never sent)', frameHeader(1, FrameType.FETCH, 1 << 30)],
      ['a 200 KiB request', fetchFrame(1, { pad: 'x'.repeat(200 * 1024) })],
      ['a frame type only owners send', frame(1, FrameType.HEAD, Buffer.from('{}'))],
      ['an unknown frame type', frame(1, 200 as FrameType)],
      ['request id 0', fetchFrame(0, {})],
      ['a cancellation with a payload', frame(1, FrameType.CANCEL, Buffer.from('x'))],
    ];
    for (const [what, bytes] of cases) {
      const entry = new RawEntry(peerPort);
      entry.send(bytes);
      await entry.closed;
      assert.deepEqual(entry.answers, [{ id: 0, type: FrameType.ERROR, error: 'ERR_INVALID_ARGUMENT' }], what);
      assert.ok(await answersHealth(node.http), `/health answers after ${what}`);
    }
  });

  it('survives a client that sends half a frame and hangs up', async () => {
    const entry = new RawEntry(peerPort);
    entry.send(fetchFrame(1, {}).subarray(0, 20));
    entry.destroy();
    assert.ok(await answersHealth(node.http));
    const next = new RawEntry(peerPort);
    try {
      next.send(frame(1, FrameType.FETCH, Buffer.from('nope')));
      assert.equal((await next.final(1)).error, 'ERR_INVALID_ARGUMENT');
    } finally {
      next.destroy();
    }
  });
});
