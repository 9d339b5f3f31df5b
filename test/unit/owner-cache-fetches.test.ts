import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { HotKeys } from '../../src/cache/hot-keys.js';
import { ObjectStore } from '../../src/cache/object-store.js';
import { OwnerCache, type OriginFetcher } from '../../src/cache/owner-cache.js';
import { DhtError } from '../../src/errors.js';
import { IdSpace } from '../../src/id/id-space.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

/** An origin that answers only when told to, and records whether its request was cancelled. */
function heldOrigin() {
  const held: { signal: AbortSignal; answer: () => void }[] = [];
  const fetcher: OriginFetcher = {
    fetch: (req) =>
      new Promise((resolve, reject) => {
        req.signal!.addEventListener('abort', () => reject(new DhtError('ERR_ABORTED', 'cancelled')), { once: true });
        held.push({ signal: req.signal!, answer: () => resolve({ status: 200, headers: { 'cache-control': 'max-age=60' }, body: Buffer.from('x'), url: req.url.href }) });
      }),
  };
  return { fetcher, held };
}

function owner(fetcher: OriginFetcher, shutdown = new AbortController().signal): OwnerCache {
  const clock = new VirtualClock();
  return new OwnerCache(new ObjectStore(1 << 20, new IdSpace(66)), fetcher, new HotKeys(clock, 1000, 0.65), { defaultTtlSeconds: 3600, storeSetCookie: false }, shutdown);
}

/**
 * What a signal keeps of the signals made from it: its abort listeners, and on Node 20 the set of
 * weak references AbortSignal.any leaves in each of its sources for as long as they live.
 */
function heldBy(signal: AbortSignal): number {
  const dependants = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  const set = dependants === undefined ? undefined : (signal as unknown as Record<symbol, Set<unknown> | undefined>)[dependants];
  return getEventListeners(signal, 'abort').length + (set?.size ?? 0);
}

const get = (url: string) => ({ url, method: 'GET' as const, headers: {} });
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('cache - shared origin fetches', () => {
  it('the origin fetch goes on while one client waits for it, and is cancelled when the last one has gone', async () => {
    const { fetcher, held } = heldOrigin();
    const cache = owner(fetcher);
    const clients = [new AbortController(), new AbortController()];
    const waits = clients.map((c) => cache.serve(get('http://o.test/slow'), c.signal));
    for (const w of waits) w.catch(() => undefined);
    await tick();
    assert.equal(held.length, 1, 'one origin fetch for both');
    clients[0]!.abort(new DhtError('ERR_ABORTED', 'first client gone'));
    await assert.rejects(waits[0]!, /first client gone/);
    assert.equal(held[0]!.signal.aborted, false, 'the other client still waits');
    clients[1]!.abort(new DhtError('ERR_ABORTED', 'second client gone'));
    await assert.rejects(waits[1]!, /second client gone/);
    assert.equal(held[0]!.signal.aborted, true, 'nobody waits: the origin fetch is cancelled');
  });

  it('a client arriving after the cancel starts a new fetch, and one that stays gets the answer', async () => {
    const { fetcher, held } = heldOrigin();
    const cache = owner(fetcher);
    const gone = new AbortController();
    const first = cache.serve(get('http://o.test/again'), gone.signal);
    first.catch(() => undefined);
    await tick();
    gone.abort();
    await assert.rejects(first);
    const second = cache.serve(get('http://o.test/again'));
    await tick();
    assert.equal(held.length, 2);
    held[1]!.answer();
    assert.equal((await second).body.toString(), 'x');
  });

  it("the node's shutdown cancels an origin fetch in flight, and fetches that have ended leave nothing on it", async () => {
    const shutdown = new AbortController();
    const { fetcher, held } = heldOrigin();
    const cache = owner(fetcher, shutdown.signal);
    const kept = heldBy(shutdown.signal);
    for (let i = 0; i < 50; i++) {
      const served = cache.serve(get(`http://o.test/done/${i}`), new AbortController().signal);
      await tick();
      held.at(-1)!.answer();
      assert.equal((await served).status, 200);
    }
    assert.ok(heldBy(shutdown.signal) <= kept + 1, `the shutdown signal keeps ${heldBy(shutdown.signal)} things after 50 fetches`);
    const waiting = cache.serve(get('http://o.test/in-flight'));
    waiting.catch(() => undefined);
    await tick();
    shutdown.abort(new DhtError('ERR_ABORTED', 'node stopped'));
    await assert.rejects(waiting, /cancelled|node stopped/);
    assert.equal(held.at(-1)!.signal.aborted, true);
  });
});
