import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchByBytes, variantToWire, wireVariantBytes } from '../../src/cache/cache-wire.js';
import { evaluate } from '../../src/cache/freshness.js';
import { MAX_MESSAGE_BYTES, OBJECT_ENVELOPE_BYTES } from '../../src/transport/grpc/limits.js';

const MIB = 1024 * 1024;
const BATCH = 16 * MIB;

describe('cache - hand-off batches', () => {
  it('64 objects of 16 MiB go in batches that each fit one gRPC message, in order, none lost', () => {
    const sizes = Array.from({ length: 64 }, (_, i) => 16 * MIB + i);
    const batches = batchByBytes(sizes, (n) => n, BATCH);
    for (const batch of batches) assert.ok(batch.reduce((a, b) => a + b, 0) <= MAX_MESSAGE_BYTES - OBJECT_ENVELOPE_BYTES);
    assert.deepEqual(batches.flat(), sizes);
  });

  it('small objects share a batch up to the byte limit; one over the limit goes alone', () => {
    const batches = batchByBytes([MIB, MIB, 15 * MIB, 40 * MIB, MIB], (n) => n, BATCH);
    assert.deepEqual(batches, [[MIB, MIB], [15 * MIB], [40 * MIB], [MIB]]);
  });

  it('counts a variant by its body, headers and policy', () => {
    const headers = { 'cache-control': 'max-age=60', 'content-type': 'text/plain' };
    const wire = variantToWire({
      url: 'http://o.test/x',
      status: 200,
      headers,
      body: Buffer.alloc(1000),
      policy: evaluate({}, 200, headers, { targets: [], defaultTtlSeconds: 0 }).policy,
      selectedBy: {},
    });
    assert.ok(wireVariantBytes(wire) > 1000 + wire.policy_json.length);
  });
});
