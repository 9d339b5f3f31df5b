import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AUTO_LIMIT_SHARE, nodeHeapOptions, RSS_BASE_MB, RSS_PER_CAPACITY } from '../../src/server/container-memory.js';
import { OVERLAYS, quantity, renderOverlay, REPO_ROOT } from './manifests.js';
import { nodeContainer, podEnv } from './pod-env.js';

const MIB = 2 ** 20;

for (const overlay of OVERLAYS) {
  describe(`deploy - memory sizing - ${overlay}`, () => {
    const { container } = nodeContainer(renderOverlay(overlay));
    const limit = quantity(container.resources?.limits?.memory);
    const env = podEnv(overlay, 0, '10.0.0.10');
    const capacity = Number(env.CACHE_CAPACITY_MB) * MIB;

    it('a full cache, at the measured factor, stays under the eviction ceiling of the memory limit', () => {
      const expected = RSS_BASE_MB * MIB + RSS_PER_CAPACITY * capacity;
      assert.equal(env.CACHE_MEMORY_LIMIT_MB, 'auto', 'the ceiling follows the container limit');
      assert.ok(
        expected <= AUTO_LIMIT_SHARE * limit,
        `${RSS_BASE_MB} MB + ${RSS_PER_CAPACITY} × ${env.CACHE_CAPACITY_MB} MB = ${(expected / MIB).toFixed(0)} MB exceeds ${AUTO_LIMIT_SHARE * 100} % of the ${limit / MIB} Mi limit`,
      );
    });

    it("Node's heap ceiling is the container limit, which can hold a cache of header-only entries", () => {
      const heapMib = Number(/--max-old-space-size=(\d+)/.exec(env.NODE_OPTIONS ?? '')?.[1]);
      assert.equal(heapMib, Math.ceil(limit / MIB));
      assert.ok(heapMib * MIB >= capacity + 64 * MIB, 'entries without bodies put the whole budget on the heap');
      assert.equal(env.NODE_OPTIONS, nodeHeapOptions(heapMib), 'the heap flags bench:memory measured with');
    });
  });
}

describe('deploy - memory sizing - image', () => {
  it('the node image leaves the heap ceiling to the pod (no NODE_OPTIONS of its own)', () => {
    const dockerfile = readFileSync(`${REPO_ROOT}/docker/node.Dockerfile`, 'utf8');
    assert.doesNotMatch(dockerfile, /NODE_OPTIONS|max-old-space-size/);
    assert.doesNotMatch(readFileSync(`${REPO_ROOT}/docker/entrypoint.sh`, 'utf8'), /NODE_OPTIONS|max-old-space-size/);
  });
});
