import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { DhtError, errorCode } from '../../src/errors.js';
import { wallClock } from '../../src/runtime/clock.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { GrpcCredentials, readTlsMaterial } from '../../src/transport/grpc/tls.js';
import { HttpCachePeers, type PeerControl } from '../../src/transport/http-peer/http-cache-peers.js';
import { createPeerServer } from '../../src/transport/http-peer/peer-server.js';
import { CacheRing, type RingNode } from '../helpers/cache-ring.js';
import { hasOpenssl, makeRingCertificates } from '../helpers/tls-certs.js';

const URL_A = 'http://origin.test/objects/a';
const INIT = { headTimeoutMs: 10_000, hopDelayMs: 0, maxBodyBytes: 16 << 20, connectionsPerPeer: 4 };

function around(ring: CacheRing, url: string, offset: number): bigint {
  return (ring.ids.hash(url) + BigInt(offset) + ring.ids.size) % ring.ids.size;
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

/** A ring whose forwards cross real loopback HTTP: each node's endpoint behind its own peer server. */
function httpRing(credentials = GrpcCredentials.PLAINTEXT) {
  let control!: TablePorts;
  let peers!: HttpCachePeers;
  const ring = new CacheRing({
    peers: () => {
      control ??= new TablePorts(ring);
      peers ??= new HttpCachePeers(control, credentials, wallClock, INIT);
      return peers;
    },
  });
  const servers: Server[] = [];
  let next = 1;
  const join = async (id: bigint): Promise<RingNode> => {
    const node = ring.join(id, `127.0.0.1:${next++}`); // the gRPC port is only a name here
    const server = createPeerServer(node.endpoint, credentials, silentLogger);
    servers.push(server);
    control.ports.set(node.ref.addr, await listen(server));
    return node;
  };
  const close = async () => {
    peers?.close();
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  };
  return { ring, join, close, control: () => control, servers };
}

describe('cache - the HTTP peer data channel on loopback', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it('forwards to the owner: MISS-DHT, then HIT-DHT; a 3 MiB body arrives intact; HEAD has none', async () => {
    const { ring, join, close, control } = httpRing();
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
    const { ring, join, close } = httpRing();
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
    const { ring, join, close, control, servers } = httpRing();
    closers.push(close);
    const owner = await join(around(ring, URL_A, 0));
    const entry = await join(around(ring, URL_A, 5000));
    assert.equal((await ring.request(entry, URL_A)).xCache, 'MISS-DHT');
    const old = servers[0]!;
    old.closeAllConnections();
    await new Promise((resolve) => old.close(resolve));
    const moved = createPeerServer(owner.endpoint, GrpcCredentials.PLAINTEXT, silentLogger);
    servers.push(moved);
    control().ports.set(owner.ref.addr, await listen(moved));
    // The first try finds the old port closed, forgets it, and the retry learns the new one.
    const answer = await ring.request(entry, URL_A);
    assert.deepEqual([answer.status, answer.xCache, answer.owner], [200, 'HIT-DHT', owner.ref.addr]);
    assert.equal(control().asked.filter((a) => a === owner.ref.addr).length, 2);
  });

  it('a hostile owner\'s malformed answers become clean peer errors, never a crash', async () => {
    const answers: ((res: import('node:http').ServerResponse) => void)[] = [
      (res) => res.writeHead(200).end('not a frame'),
      (res) => {
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32BE(50 << 20);
        res.writeHead(200).end(prefix);
      },
      (res) => frame(res, { status: 99, headers: [], outcome: 'HIT', stored: true, origin_status: 0, hot: false, fresh_for_ms: 0 }),
      (res) => frame(res, { status: 200, headers: [{ name: 'x-evil', value: 'a\r\nset-cookie: b' }], outcome: 'HIT', stored: true, origin_status: 0, hot: false, fresh_for_ms: 0 }),
      (res) => frame(res, { status: 200, headers: [], outcome: 'PWNED', stored: true, origin_status: 0, hot: false, fresh_for_ms: 0 }),
      (res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"ERR_NOT_OWNER","message":"moved"}'),
      (res) => res.writeHead(500).end('<html>oops</html>'),
    ];
    const expected = ['ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_INTERNAL', 'ERR_NOT_OWNER', 'ERR_INTERNAL'];
    let at = 0;
    const hostile = createServer((req, res) => {
      req.resume();
      answers[at++]!(res);
    });
    const port = await listen(hostile);
    const peers = new HttpCachePeers(
      { peerPort: async () => port, store: async () => {}, invalidate: async () => {}, close: () => {} },
      GrpcCredentials.PLAINTEXT,
      wallClock,
      INIT,
    );
    closers.push(async () => {
      peers.close();
      hostile.closeAllConnections();
      await new Promise((resolve) => hostile.close(resolve));
    });
    for (const code of expected) {
      const failure = await peers.fetch('127.0.0.1:1', { url: URL_A, method: 'GET', headers: {} }, { fromRouteCache: false }).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(failure instanceof DhtError, `a DhtError, got ${String(failure)}`);
      assert.equal(errorCode(failure), code);
    }
  });

  it('with TLS on, the channel needs a certificate from the cluster CA: plaintext and certificate-less clients are refused', { skip: !hasOpenssl() && 'openssl is missing' }, async () => {
    const certs = makeRingCertificates();
    const material = readTlsMaterial({ ca: certs.ca, cert: certs.nodeCert, key: certs.nodeKey }, { ca: 'ca', cert: 'cert', key: 'key' })!;
    const { ring, join, close, control } = httpRing(new GrpcCredentials(material));
    closers.push(close);
    const owner = await join(around(ring, URL_A, 0));
    const entry = await join(around(ring, URL_A, 5000));
    assert.equal((await ring.request(entry, URL_A)).xCache, 'MISS-DHT');
    const port = control().ports.get(owner.ref.addr)!;
    const body = JSON.stringify({ url: URL_A, method: 'GET', headers: [] });
    const plaintext = await fetch(`http://127.0.0.1:${port}/v1/fetch`, { method: 'POST', body }).then(
      (r) => `status ${r.status}`,
      () => 'refused',
    );
    assert.equal(plaintext, 'refused');
    const withoutCertificate = await new Promise<string>((resolve) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/v1/fetch', method: 'POST', ca: material.ca, checkServerIdentity: () => undefined }, (res) => resolve(`status ${res.statusCode}`));
      req.on('error', () => resolve('refused'));
      req.end(body);
    });
    assert.equal(withoutCertificate, 'refused');
    assert.equal(ring.origin.count(URL_A), 1, 'neither refused client reached the origin');
  });
});

function frame(res: import('node:http').ServerResponse, head: object): void {
  const json = Buffer.from(JSON.stringify(head));
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(json.length);
  res.writeHead(200).end(Buffer.concat([prefix, json]));
}
