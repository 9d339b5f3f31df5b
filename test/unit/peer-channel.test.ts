import assert from 'node:assert/strict';
import { connect as connectNet, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { createServer as createHttpServer } from 'node:http';
import { after, describe, it } from 'node:test';
import { DhtError, errorCode } from '../../src/errors.js';
import { wallClock } from '../../src/runtime/clock.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { sendServed } from '../../src/http/respond.js';
import { GrpcCredentials, readTlsMaterial } from '../../src/transport/grpc/tls.js';
import { FramedCachePeers, type PeerControl } from '../../src/transport/peer/framed-cache-peers.js';
import { frame, frameHeader, FrameReader, FrameType, FRAME_HEADER_BYTES } from '../../src/transport/peer/frames.js';
import { createPeerServer, type PeerServer } from '../../src/transport/peer/peer-server.js';
import { CacheRing, type RingNode } from '../helpers/cache-ring.js';
import { hasOpenssl, makeRingCertificates } from '../helpers/tls-certs.js';

const URL_A = 'http://origin.test/objects/a';
const INIT = { headTimeoutMs: 10_000, hopDelayMs: 0, maxBodyBytes: 16 << 20 };

function around(ring: CacheRing, url: string, offset: number): bigint {
  return (ring.ids.hash(url) + BigInt(offset) + ring.ids.size) % ring.ids.size;
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), 'condition not met in 2 s');
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** Control plane in memory: peer ports from a table the test edits, counted per address. */
class TablePorts implements PeerControl {
  readonly ports = new Map<string, number>();
  readonly asked: string[] = [];
  constructor(private readonly ring: CacheRing) {}
  async peerPort(addr: string): Promise<number> {
    this.asked.push(addr);
    const port = this.ports.get(addr);
    if (port === undefined) throw new DhtError('ERR_UNREACHABLE', `no peer at ${addr}`);
    return port;
  }
  store = (addr: string, variants: Parameters<PeerControl['store']>[1]) => this.ring.peers.store(addr, variants);
  invalidate = (addr: string, url: string) => this.ring.peers.invalidate(addr, url);
  close(): void {}
}

/** A ring whose forwards cross real loopback connections: each node's endpoint behind its own peer server. */
function framedRing(credentials = GrpcCredentials.PLAINTEXT) {
  let control!: TablePorts;
  let peers!: FramedCachePeers;
  const ring = new CacheRing({
    peers: () => {
      control ??= new TablePorts(ring);
      peers ??= new FramedCachePeers(control, credentials, wallClock, INIT);
      return peers;
    },
  });
  const servers: PeerServer[] = [];
  let next = 1;
  const join = async (id: bigint): Promise<RingNode> => {
    const node = ring.join(id, `127.0.0.1:${next++}`); // the gRPC port is only a name here
    const server = createPeerServer(node.endpoint, credentials, silentLogger);
    servers.push(server);
    control.ports.set(node.ref.addr, await listen(server.server));
    return node;
  };
  const close = async () => {
    peers?.close();
    for (const server of servers) await server.close();
  };
  return { ring, join, close, control: () => control, servers };
}

describe('cache - the peer data channel on loopback', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it('forwards to the owner: MISS-DHT, then HIT-DHT; a 3 MiB body arrives intact; HEAD has none', async () => {
    const { ring, join, close, control } = framedRing();
    closers.push(close);
    const owner = await join(around(ring, URL_A, 0));
    const entry = await join(around(ring, URL_A, 5000));
    const first = await ring.request(entry, URL_A);
    assert.deepEqual([first.status, first.xCache, first.owner, first.body], [200, 'MISS-DHT', owner.ref.addr, `body of ${URL_A}`]);
    assert.equal((await ring.request(entry, URL_A)).xCache, 'HIT-DHT');
    const big = `${URL_A}?size=${3 << 20}`;
    const bigOwner = ring.ownerOf(ring.ids.hash(big));
    const from = bigOwner.addr === entry.ref.addr ? owner : entry;
    for (let i = 0; i < 2; i++) {
      const answer = await ring.request(from, big);
      assert.equal(answer.body.length, 3 << 20);
      assert.equal(answer.body, Buffer.alloc(3 << 20, `${big}|`).toString());
    }
    const head = await ring.request(entry, URL_A, {}, 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
    assert.equal(ring.origin.count(URL_A), 1);
    assert.equal(control().asked.filter((a) => a === owner.ref.addr).length, 1, 'the owner\'s peer port was learned once');
  });

  it('a stale route comes back as ERR_NOT_OWNER, and the entry finds the new owner', async () => {
    const { ring, join, close } = framedRing();
    closers.push(close);
    const former = await join(around(ring, URL_A, 50));
    const entry = await join(around(ring, URL_A, 5000));
    await ring.request(entry, URL_A);
    const lookups = ring.lookups;
    const previous = ring.predecessorOf(former);
    const joined = await join(around(ring, URL_A, 0));
    await ring.handToNewPredecessor(former, previous, joined.ref);
    // The entry's route cache still names the former owner, which refuses over the channel.
    const after = await ring.request(entry, URL_A);
    assert.deepEqual([after.xCache, after.owner], ['HIT-DHT', joined.ref.addr]);
    assert.equal(ring.lookups, lookups + 1);
    assert.equal(ring.origin.count(URL_A), 1);
  });

  it('an owner that moved its peer port is asked for it again after the first failure', async () => {
    const { ring, join, close, control, servers } = framedRing();
    closers.push(close);
    const owner = await join(around(ring, URL_A, 0));
    const entry = await join(around(ring, URL_A, 5000));
    assert.equal((await ring.request(entry, URL_A)).xCache, 'MISS-DHT');
    await servers[0]!.close();
    const moved = createPeerServer(owner.endpoint, GrpcCredentials.PLAINTEXT, silentLogger);
    servers.push(moved);
    control().ports.set(owner.ref.addr, await listen(moved.server));
    // The old connection closed with its server: the next request learns the new port.
    const answer = await ring.request(entry, URL_A);
    assert.deepEqual([answer.status, answer.xCache, answer.owner], [200, 'HIT-DHT', owner.ref.addr]);
    assert.equal(control().asked.filter((a) => a === owner.ref.addr).length, 2);
  });

  it('a hostile owner\'s malformed answers become clean peer errors, never a crash', async () => {
    const head = (fields: object) => Buffer.from(JSON.stringify({ status: 200, headers: [], outcome: 'HIT', stored: true, origin_status: 0, hot: false, fresh_for_ms: 0, ...fields }));
    const answers: ((id: number) => Buffer)[] = [
      () => Buffer.from('not a frame at all'),
      (id) => frameHeader(id, FrameType.HEAD, 50 << 20),
      (id) => frame(id, 99 as FrameType),
      (id) => frame(id, FrameType.FETCH, Buffer.from('{}')),
      (id) => frame(id, FrameType.BODY, Buffer.from('a body before its head')),
      (id) => frame(id, FrameType.HEAD, head({ status: 99 })),
      (id) => frame(id, FrameType.HEAD, head({ headers: ['x-evil', 'a\r\nset-cookie: b'] })),
      (id) => frame(id, FrameType.HEAD, head({ outcome: 'PWNED' })),
      (id) => frame(id, FrameType.HEAD, head({ collapsed: 'yes' })),
      (id) => frame(id, FrameType.HEAD, head({ final: 'yes' })),
      (id) => frame(id, FrameType.HEAD, head({ headers: ['x-name-without-value'] })),
      (id) => frame(id, FrameType.HEAD, head({ headers: [{ name: 'etag', value: '"a"' }] })),
      (id) => frame(id, FrameType.HEAD, head({ headers: ['transfer-encoding', 'chunked'] })),
      (id) => frame(id, FrameType.HEAD, Buffer.from('{"status":')),
      (id) => frame(id, FrameType.ERROR, Buffer.from('{"error":"ERR_NOT_OWNER","message":"moved"}')),
      (id) => frame(id, FrameType.ERROR, Buffer.from('<html>oops</html>')),
      (id) => frame(id, FrameType.INTERIM, Buffer.from('{"status":101,"headers":[]}')),
      (id) => frame(id, FrameType.INTERIM, Buffer.from('{"status":103,"headers":["link","a\\r\\nx: y"]}')),
      () => frame(0, FrameType.ERROR, Buffer.from('{"error":"ERR_OVERLOADED","message":"go away"}')),
    ];
    const expected = ['ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_NOT_OWNER', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_OVERLOADED'];
    let at = 0;
    const hostile = createNetServer((socket) => {
      const reader = new FrameReader(
        (type) => (type === FrameType.FETCH ? 1 << 20 : 0),
        (id, type) => type === FrameType.FETCH && socket.write(answers[at++]!(id)),
      );
      socket.on('data', (chunk: Buffer) => reader.push(chunk)).on('error', () => undefined);
    });
    const port = await listen(hostile);
    const peers = new FramedCachePeers(
      { peerPort: async () => port, store: async () => {}, invalidate: async () => {}, close: () => {} },
      GrpcCredentials.PLAINTEXT,
      wallClock,
      INIT,
    );
    closers.push(async () => {
      peers.close();
      await new Promise((resolve) => hostile.close(resolve));
    });
    for (const code of expected) {
      const failure = await peers.fetch('127.0.0.1:1', { url: URL_A, method: 'GET', headers: {} }, { fromRouteCache: false }).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(failure instanceof DhtError, `a DhtError, got ${String(failure)}`);
      assert.equal(errorCode(failure), code, (failure as Error).message);
    }
  });

  /**
   * An entry's HTTP server in front of a ring whose owner of URL_A is `answer`, a fake owner that
   * answers every FETCH with the frames it writes: the port to send a client's GET to.
   */
  async function entryBefore(answer: (socket: Socket, id: number) => void): Promise<number> {
    const fake = createNetServer((socket) => {
      const reader = new FrameReader((type) => (type === FrameType.FETCH ? 1 << 20 : 0), (id) => answer(socket, id));
      socket.on('data', (chunk: Buffer) => reader.push(chunk)).on('error', () => undefined);
    });
    const { ring, join, close, control } = framedRing();
    const owner = await join(around(ring, URL_A, 0));
    const entry = await join(around(ring, URL_A, 5000));
    control().ports.set(owner.ref.addr, await listen(fake));
    const http = createHttpServer((_req, res) => void entry.service.handle({ url: URL_A, method: 'GET', headers: {} }).then((served) => sendServed(res, served, 'GET')));
    const port = await listen(http);
    closers.push(async () => {
      await close();
      await new Promise((resolve) => fake.close(resolve));
      await new Promise((resolve) => http.close(resolve));
    });
    return port;
  }

  it('an owner\'s final head whose Content-Length is not its body\'s reaches the client with the body\'s length', async () => {
    const body = Buffer.from('twelve bytes');
    const port = await entryBefore((socket, id) => {
      const head = { status: 200, headers: ['content-type', 'text/plain', 'content-length', '5', 'age', '0'], final: true, outcome: 'HIT', stored: true, origin_status: 0, hot: false, fresh_for_ms: 1000 };
      socket.write(Buffer.concat([frame(id, FrameType.HEAD, Buffer.from(JSON.stringify(head))), frame(id, FrameType.BODY, body), frame(id, FrameType.END)]));
    });
    const answer = await fetch(`http://127.0.0.1:${port}/`);
    const text = await answer.text();
    assert.equal(text, body.toString());
    assert.equal(answer.headers.get('content-length'), String(body.length));
    assert.equal(answer.headers.get('x-cache'), 'HIT-DHT');
  });

  it('a streamed body longer than the Content-Length its owner declared is cut, never run into a next response', async () => {
    const port = await entryBefore((socket, id) => {
      const head = { status: 200, headers: ['content-type', 'text/plain', 'content-length', '5'], outcome: 'MISS', stored: false, origin_status: 200, hot: false, fresh_for_ms: 0 };
      socket.write(frame(id, FrameType.HEAD, Buffer.from(JSON.stringify(head))));
      // The body comes later than its head, so the entry streams it instead of holding it whole.
      setTimeout(() => socket.write(Buffer.concat([frame(id, FrameType.BODY, Buffer.from('12345HTTP/1.1 200 OK\r\nx-smuggled: 1\r\n\r\n')), frame(id, FrameType.END)])), 50);
    });
    const received = await new Promise<string>((resolve) => {
      let text = '';
      const socket = connectNet(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nhost: a\r\n\r\n'));
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1'))).on('close', () => resolve(text)).on('error', () => undefined);
    });
    // The connection closes with at most the 5 declared bytes after the head (node:http may not
    // even have sent the head yet), and the owner's extra bytes never reach the client.
    const body = received.split('\r\n\r\n').slice(1).join('\r\n\r\n');
    assert.ok(body.length <= 5, `at most the 5 declared bytes follow the head, got ${JSON.stringify(body)}`);
    assert.doesNotMatch(received, /x-smuggled/);
  });

  it('a request whose client left, or whose owner stays silent, is cancelled at the owner; the connection carries on', async () => {
    const seen: [number, number][] = [];
    const owner = createNetServer((socket) => {
      const reader = new FrameReader(
        (type) => (type === FrameType.FETCH ? 1 << 20 : 0),
        (id, type, payload) => {
          seen.push([id, type]);
          // Only a request for /answered gets an answer; the others wait for their cancellation.
          if (type === FrameType.FETCH && payload.toString().includes('/answered')) {
            const head = Buffer.from(JSON.stringify({ status: 200, headers: [], outcome: 'HIT', stored: true, origin_status: 0, hot: false, fresh_for_ms: 1000 }));
            socket.write(Buffer.concat([frame(id, FrameType.HEAD, head), frame(id, FrameType.BODY, Buffer.from('ok')), frame(id, FrameType.END)]));
          }
        },
      );
      socket.on('data', (chunk: Buffer) => reader.push(chunk)).on('error', () => undefined);
    });
    const port = await listen(owner);
    const peers = new FramedCachePeers(
      { peerPort: async () => port, store: async () => {}, invalidate: async () => {}, close: () => {} },
      GrpcCredentials.PLAINTEXT,
      wallClock,
      { ...INIT, headTimeoutMs: 300 },
    );
    closers.push(async () => {
      peers.close();
      await new Promise((resolve) => owner.close(resolve));
    });
    const fetchOf = (path: string, signal?: AbortSignal) =>
      peers.fetch('127.0.0.1:1', { url: `http://origin.test${path}`, method: 'GET', headers: {} }, { fromRouteCache: false, signal }).then(
        async (r) => {
          let body = '';
          for await (const chunk of r.chunks) body += chunk.toString();
          return body;
        },
        (err: unknown) => errorCode(err),
      );
    const client = new AbortController();
    const left = fetchOf('/left', client.signal);
    await waitUntil(() => seen.length === 1);
    client.abort(new DhtError('ERR_ABORTED', 'the client went away'));
    assert.equal(await left, 'ERR_ABORTED');
    assert.equal(await fetchOf('/silent'), 'ERR_TIMEOUT');
    assert.equal(await fetchOf('/answered'), 'ok');
    assert.deepEqual(seen, [
      [1, FrameType.FETCH],
      [1, FrameType.CANCEL],
      [2, FrameType.FETCH],
      [2, FrameType.CANCEL],
      [3, FrameType.FETCH],
    ]);
  });

  it('many requests at once share one connection, each answer matched to its own request', async () => {
    const { ring, join, close } = framedRing();
    closers.push(close);
    const owner = await join(around(ring, URL_A, 0));
    const entry = await join(around(ring, URL_A, 5000));
    const urls = Array.from({ length: 40 }, (_, i) => `http://origin.test/many/${i}`).filter((u) => ring.ownerOf(ring.ids.hash(u)).addr === owner.ref.addr);
    assert.ok(urls.length > 5);
    const answers = await Promise.all(urls.map((u) => ring.request(entry, u)));
    assert.deepEqual(answers.map((a) => a.body), urls.map((u) => `body of ${u}`));
    assert.deepEqual(new Set(answers.map((a) => a.xCache)), new Set(['MISS-DHT']));
    const again = await Promise.all(urls.map((u) => ring.request(entry, u)));
    assert.deepEqual(again.map((a) => [a.xCache, a.body]), urls.map((u) => ['HIT-DHT', `body of ${u}`]));
  });

  it('with TLS on, the channel needs a certificate from the cluster CA: plaintext and certificate-less clients are refused', { skip: !hasOpenssl() && 'openssl is missing' }, async () => {
    const certs = makeRingCertificates();
    const material = readTlsMaterial({ ca: certs.ca, cert: certs.nodeCert, key: certs.nodeKey }, { ca: 'ca', cert: 'cert', key: 'key' })!;
    const { ring, join, close, control } = framedRing(new GrpcCredentials(material));
    closers.push(close);
    const owner = await join(around(ring, URL_A, 0));
    const entry = await join(around(ring, URL_A, 5000));
    assert.equal((await ring.request(entry, URL_A)).xCache, 'MISS-DHT');
    const port = control().ports.get(owner.ref.addr)!;
    const request = frame(1, FrameType.FETCH, Buffer.from(JSON.stringify({ url: URL_A, method: 'GET', headers: [] })));
    assert.equal(await exchange(connectNet({ host: '127.0.0.1', port }), request), 'refused', 'a plaintext client');
    const withoutCertificate = connectTls({ host: '127.0.0.1', port, ca: material.ca, checkServerIdentity: () => undefined });
    assert.equal(await exchange(withoutCertificate, request), 'refused', 'a client without a certificate');
    assert.equal(ring.origin.count(URL_A), 1, 'neither refused client reached the origin');
  });
});

/** 'answered' when the peer sent a frame back, 'refused' when it closed the connection without one. */
function exchange(socket: Socket, request: Buffer): Promise<string> {
  return new Promise((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      if (chunk.length >= FRAME_HEADER_BYTES) resolve(`answered (type ${chunk[8]})`);
    });
    socket.on('error', () => resolve('refused'));
    socket.on('close', () => resolve('refused'));
    socket.write(request);
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}
