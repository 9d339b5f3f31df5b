import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSettings } from '../../src/config/load.js';
import { evaluate } from '../../src/cache/freshness.js';
import { MemoryGuard, type Evictable } from '../../src/cache/memory-guard.js';
import { ObjectStore } from '../../src/cache/object-store.js';
import { IdSpace } from '../../src/id/id-space.js';
import { AUTO_LIMIT_SHARE, cgroupV1MemoryPath, cgroupV2Path, containerMemoryLimit, memoryCeilingBytes, parseCgroupV1Limit, parseCgroupV2Max } from '../../src/server/container-memory.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

const MIB = 1024 * 1024;

describe('memory - container limit', () => {
  it('reads cgroup v2 memory.max: bytes, or no limit for "max"', () => {
    assert.equal(parseCgroupV2Max('805306368\n'), 805_306_368);
    assert.equal(parseCgroupV2Max('max\n'), undefined);
    assert.equal(parseCgroupV2Max('garbage'), undefined);
  });

  it('reads cgroup v1 memory.limit_in_bytes, where a huge value means no limit', () => {
    assert.equal(parseCgroupV1Limit('536870912\n'), 512 * MIB);
    assert.equal(parseCgroupV1Limit('9223372036854771712\n'), undefined);
    assert.equal(parseCgroupV1Limit(''), undefined);
  });

  it('finds the v2 group and the v1 memory group of the process', () => {
    assert.equal(cgroupV2Path('0::/kubepods/burstable/pod1/abc\n'), '/kubepods/burstable/pod1/abc');
    assert.equal(cgroupV2Path('12:memory:/docker/abc\n11:cpu:/docker/abc\n'), undefined);
    assert.equal(cgroupV1MemoryPath('12:cpu:/a\n4:memory:/process_api/5c20\n0::/\n'), '/process_api/5c20');
    assert.equal(cgroupV1MemoryPath('0::/x\n'), undefined);
  });

  it('prefers the process group of cgroup v2, then the mount root, then v1', () => {
    const files = (entries: Record<string, string>) => (path: string) => entries[path];
    assert.equal(containerMemoryLimit(files({ '/proc/self/cgroup': '0::/pod/c\n', '/sys/fs/cgroup/pod/c/memory.max': '1073741824\n', '/sys/fs/cgroup/memory.max': 'max\n' })), 1024 * MIB);
    assert.equal(containerMemoryLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': '805306368\n' })), 768 * MIB);
    assert.equal(containerMemoryLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': 'max\n' })), undefined);
    assert.equal(containerMemoryLimit(files({ '/proc/self/cgroup': '4:memory:/\n', '/sys/fs/cgroup/memory/memory.limit_in_bytes': '268435456\n' })), 256 * MIB);
    const v1Own = { '/proc/self/cgroup': '5:cpu,memory:/docker/x\n0::/\n', '/sys/fs/cgroup/memory/docker/x/memory.limit_in_bytes': '536870912\n', '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n' };
    assert.equal(containerMemoryLimit(files(v1Own)), 512 * MIB, 'the own v1 group, not the unlimited root');
    assert.equal(containerMemoryLimit(files({})), undefined, 'no cgroup files: no limit');
  });

  it('derives the ceiling: a set value wins, auto takes a share of the container limit, none has none', () => {
    assert.equal(memoryCeilingBytes(300, 768 * MIB), 300 * MIB);
    assert.equal(memoryCeilingBytes('auto', 1000 * MIB), Math.floor(1000 * MIB * AUTO_LIMIT_SHARE));
    assert.equal(memoryCeilingBytes('auto', undefined), undefined);
    assert.equal(memoryCeilingBytes('none', 768 * MIB), undefined);
  });

  it('CACHE_MEMORY_LIMIT_MB takes auto, none or MiB, and names what is allowed otherwise', () => {
    assert.equal(loadSettings({}).memoryLimitMB, 'auto');
    assert.equal(loadSettings({ CACHE_MEMORY_LIMIT_MB: 'none' }).memoryLimitMB, 'none');
    assert.equal(loadSettings({ CACHE_MEMORY_LIMIT_MB: '700' }).memoryLimitMB, 700);
    assert.throws(() => loadSettings({ CACHE_MEMORY_LIMIT_MB: 'lots' }), /CACHE_MEMORY_LIMIT_MB="lots": expected auto, none, or a number of MiB/);
    assert.throws(() => loadSettings({ CACHE_MEMORY_LIMIT_MB: '1' }), /CACHE_MEMORY_LIMIT_MB/);
  });
});

/** A store of equal-sized entries whose evictions free resident memory the test controls. */
function fakeStore(entries: number, entryBytes: number): Evictable & { entries: number } {
  return {
    entries,
    evictOldest(bytes: number) {
      const n = Math.min(this.entries, Math.ceil(bytes / entryBytes));
      this.entries -= n;
      return n;
    },
  };
}

describe('memory - pressure eviction', () => {
  it('does nothing below the ceiling', () => {
    const store = fakeStore(100, MIB);
    const guard = new MemoryGuard(store, () => 900 * MIB, new VirtualClock(), { limitBytes: 1000 * MIB });
    assert.equal(guard.check(), 0);
    assert.equal(store.entries, 100);
    assert.equal(guard.rssBytes, 900 * MIB);
  });

  it('at the ceiling, evicts oldest entries down to the low-water mark and counts them', () => {
    const store = fakeStore(500, MIB);
    const guard = new MemoryGuard(store, () => 1010 * MIB, new VirtualClock(), { limitBytes: 1000 * MIB, lowWaterShare: 0.8 });
    assert.equal(guard.check(), 210, '1010 MB resident, low water 800 MB');
    assert.equal(store.entries, 290);
    assert.equal(guard.pressureEvictions, 210);
  });

  it('waits a cool-down before judging again, since freed memory leaves RSS late', async () => {
    const clock = new VirtualClock();
    const store = fakeStore(1000, MIB);
    const guard = new MemoryGuard(store, () => 1100 * MIB, clock, { limitBytes: 1000 * MIB, lowWaterShare: 0.9, cooldownMs: 1000 });
    assert.equal(guard.check(), 200);
    assert.equal(guard.check(), 0, 'RSS has not caught up yet: no second round at once');
    await clock.advance(1000);
    assert.equal(guard.check(), 200, 'still over after the cool-down: another round');
    assert.equal(guard.pressureEvictions, 400);
  });

  it('checks after stores once enough bytes came in, catching a miss storm between periodic checks', () => {
    let rss = 500 * MIB;
    const store = fakeStore(400, MIB);
    const guard = new MemoryGuard(store, () => rss, new VirtualClock(), { limitBytes: 1024 * MIB, lowWaterShare: 0.5 });
    rss = 1100 * MIB;
    guard.stored(3 * MIB);
    assert.equal(store.entries, 400, 'less than a 256th of the limit stored: no reading yet');
    guard.stored(2 * MIB);
    assert.ok(store.entries < 400, 'a 256th of the limit stored: read and evicted');
  });

  it('the object store evicts its least recently used URLs for the guard', () => {
    const store = new ObjectStore(100 * MIB, new IdSpace(66));
    for (let i = 0; i < 10; i++) {
      const url = `http://o/${i}`;
      store.put({ url, status: 200, headers: {}, body: Buffer.alloc(10_000), policy: evaluate({}, 200, {}, { targets: [], defaultTtlSeconds: 60 }).policy, selectedBy: {} });
    }
    store.find('http://o/0', {}); // recently used: kept
    const evicted = store.evictOldest(25_000);
    assert.equal(evicted, 3, 'three entries of a little over 10 kB cover 25 kB');
    assert.ok(store.find('http://o/0', {}));
    for (const gone of [1, 2, 3]) assert.equal(store.find(`http://o/${gone}`, {}), undefined);
    assert.equal(store.evictions, 3);
  });

  it('never evicts more than the store holds', () => {
    const store = fakeStore(3, MIB);
    const guard = new MemoryGuard(store, () => 5000 * MIB, new VirtualClock(), { limitBytes: 1000 * MIB });
    assert.equal(guard.check(), 3);
    assert.equal(store.entries, 0);
  });
});
