import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { DhtClient } from '../../src/client/dht-client.js';
import { evaluate } from '../../src/cache/freshness.js';
import { IdSpace } from '../../src/id/id-space.js';
import { nodeIds, routingTable, startNodes, waitForStableRing, type TestNode } from '../helpers/node-cluster.js';
import { freePorts, ProcessGroup } from '../helpers/processes.js';
import { answersHealth, RawPeer } from '../helpers/raw-grpc.js';

const ID_BITS = 66;
const R = 2;
const ids = new IdSpace(ID_BITS);
const limits = { KV_MAX_KEY_BYTES: '64', KV_MAX_VALUE_BYTES: '1000', KV_MAX_ITEMS_PER_MESSAGE: '100', KV_MAX_CLOCK_SKEW: '1m' };

describe('integration - node-to-node input - hostile peers on loopback', () => {
  const group = new ProcessGroup();
  let nodes: TestNode[];
  /** Ring order: ascending ids. */
  let ring: Array<{ node: TestNode; id: bigint; peer: RawPeer }>;

  before(async () => {
    nodes = await startNodes(group, 4, { protocol: 'koorde', degree: 8, idBits: ID_BITS, env: { REPLICATION_FACTOR: String(R), SUCCESSOR_LIST_SIZE: '3', ...limits } });
    await waitForStableRing(nodes, { protocol: 'koorde', degree: 8, idBits: ID_BITS, successors: 3 });
    const byAddr = await nodeIds(nodes);
    ring = nodes.map((node) => ({ node, id: byAddr.get(node.addr)!, peer: new RawPeer(node.addr) })).sort((a, b) => (a.id < b.id ? -1 : 1));
  });
  after(async () => {
    for (const { peer } of ring ?? []) peer.close();
    await group.stopAll();
  });

  /** The nodes responsible for a key id (owner, then R − 1 successors), and one that is not. */
  function responsibleFor(key: bigint) {
    const owner = ring.findIndex((n) => n.id >= key);
    const at = owner < 0 ? 0 : owner;
    const responsible = Array.from({ length: R }, (_, k) => ring[(at + k) % ring.length]!);
    const stranger = ring.find((n) => !responsible.includes(n))!;
    return { owner: responsible[0]!, stranger };
  }

  it('refuses FindNext{carry: i = kshift = 0} at the node whose interval holds 0, and keeps answering', async () => {
    // The last node's interval (last, first] wraps round through 0.
    const last = ring[ring.length - 1]!;
    const answer = await last.peer.call('FindNext', { key: last.id.toString(16), carry: { i: '0', kshift: '0' } });
    assert.equal(answer.code, grpc.status.INVALID_ARGUMENT, answer.details);
    assert.match(answer.details, /carry .* does not lead to key/);
    for (const { node } of ring) assert.ok(await answersHealth(node.http), `${node.name} answers /health`);
    assert.equal((await last.peer.call('Ping', {})).code, grpc.status.OK);
  });

  it('answers INVALID_ARGUMENT naming the field for ids that are not hex below 2^b', async () => {
    const { peer } = ring[0]!;
    for (const key of ['', 'XYZ', 'f'.repeat(5000), (1n << BigInt(ID_BITS)).toString(16)]) {
      const answer = await peer.call('FindNext', { key });
      assert.equal(answer.code, grpc.status.INVALID_ARGUMENT);
      assert.match(answer.details, /^key: /);
    }
  });

  it('keeps its predecessor when a forged Notify names an address nobody serves', async () => {
    const target = ring[1]!;
    const before = (await routingTable(target.node.addr)).predecessor;
    const [deadPort] = await freePorts(1);
    const forged = { id: (target.id - 1n).toString(16), addr: `127.0.0.1:${deadPort}` };
    assert.equal((await target.peer.call('Notify', { node: forged })).code, grpc.status.OK);
    assert.deepEqual((await routingTable(target.node.addr)).predecessor, before);
    assert.equal(before?.addr, ring[0]!.node.addr);
  });

  it('takes no stored pairs for keys it neither owns nor replicates', async () => {
    const key = 'poisoned-key';
    const { stranger } = responsibleFor(ids.hash(key));
    const now = Date.now();
    const put = await stranger.peer.call('StorePut', { key, value: 'evil', deleted: false });
    assert.equal(put.code, grpc.status.FAILED_PRECONDITION, put.details);
    const items = await stranger.peer.call('StoreItems', { items: [{ key, value: 'evil', version: now, deleted: false }] });
    assert.equal(items.code, grpc.status.FAILED_PRECONDITION, items.details);
    const client = new DhtClient(ring[0]!.node.addr, 5000);
    after(() => client.close());
    await assert.rejects(client.get(key), { kind: 'not found' });
    assert.equal((await stranger.peer.call('StoreGet', { key })).response?.item, null);
  });

  it('refuses a tombstone far in the future, so the key stays writable', async () => {
    const key = 'locked-key';
    const { owner } = responsibleFor(ids.hash(key));
    const max = await owner.peer.call('StoreItems', { items: [{ key, value: '', version: '18446744073709551615', deleted: true }] });
    assert.equal(max.code, grpc.status.INVALID_ARGUMENT, max.details);
    const yearAhead = Date.now() + 365 * 24 * 3600_000;
    const ahead = await owner.peer.call('StoreItems', { items: [{ key, value: '', version: yearAhead, deleted: true }] });
    assert.equal(ahead.code, grpc.status.INVALID_ARGUMENT);
    assert.match(ahead.details, /KV_MAX_CLOCK_SKEW/);
    const client = new DhtClient(ring[0]!.node.addr, 5000);
    after(() => client.close());
    await client.put(key, 'still mine');
    assert.equal(await client.get(key), 'still mine');
  });

  it('gives clients and peers INVALID_ARGUMENT naming the size and count limits', async () => {
    const client = new DhtClient(ring[0]!.node.addr, 5000);
    after(() => client.close());
    await assert.rejects(client.put('big', 'x'.repeat(1001)), (err: Error) => /KV_MAX_VALUE_BYTES allows 1000/.test(err.message));
    await assert.rejects(client.put('k'.repeat(65), 'v'), (err: Error) => /KV_MAX_KEY_BYTES allows 64/.test(err.message));
    await assert.rejects(client.get('k'.repeat(65)), (err: Error) => /KV_MAX_KEY_BYTES/.test(err.message));
    const many = Array.from({ length: 101 }, (_, i) => ({ key: `k${i}`, value: '', version: 1, deleted: false }));
    const answer = await ring[0]!.peer.call('StoreItems', { items: many });
    assert.equal(answer.code, grpc.status.INVALID_ARGUMENT);
    assert.match(answer.details, /KV_MAX_ITEMS_PER_MESSAGE allows 100/);
    await client.put('fits', 'x'.repeat(1000));
    assert.equal(await client.get('fits'), 'x'.repeat(1000));
  });

  it('takes no cached objects for URLs it neither owns nor replicates, and no malformed ones', async () => {
    const url = 'http://victim.test/account';
    const { stranger } = responsibleFor(ids.hash(url));
    const headers = { 'cache-control': 'max-age=3600', 'content-type': 'text/html' };
    const { policy } = evaluate({}, 200, headers, { targets: [], defaultTtlSeconds: 0 });
    const variant = { url, status: 200, headers: [{ name: 'content-type', value: 'text/html' }], body: Buffer.from('<script>evil()</script>'), policy_json: policy.toWire(), selected_by: [] };
    const poisoned = await stranger.peer.call('StoreObjects', { variants: [variant] }, 'cache');
    assert.equal(poisoned.code, grpc.status.FAILED_PRECONDITION, poisoned.details);
    for (const broken of [
      { ...variant, policy_json: '{' },
      { ...variant, url: 'not a url' },
      { ...variant, status: 7 },
      { ...variant, headers: [{ name: 'x-evil', value: 'a\r\nset-cookie: b' }] },
      { ...variant, headers: [{ name: 'x-evil', value: 'a\u010aset-cookie: b' }] },
      { ...variant, headers: [{ name: 'transfer-encoding', value: 'chunked' }] },
      { ...variant, headers: [{ name: 'Bad Name', value: 'x' }] },
    ]) {
      const answer = await stranger.peer.call('StoreObjects', { variants: [broken] }, 'cache');
      assert.equal(answer.code, grpc.status.INVALID_ARGUMENT, answer.details);
    }
  });
});
