import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freeClusterBase } from '../../src/cluster/free-ports.js';

describe('cluster - free port ranges', () => {
  it('a 64-node range is free for gRPC, HTTP and the peer channel and lies below the ports outgoing connections take', async () => {
    const base = await freeClusterBase(64);
    const rangeFile = '/proc/sys/net/ipv4/ip_local_port_range';
    const ephemeralLow = existsSync(rangeFile) ? Number(readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]) : 32_768;
    assert.ok(base + 2000 + 64 <= ephemeralLow, `range ${base}…${base + 2063} reaches the ephemeral ports from ${ephemeralLow}`);
    for (const port of [base, base + 63, base + 1000, base + 1063, base + 2000, base + 2063]) {
      await new Promise<void>((resolve, reject) => {
        const server = createServer().once('error', reject);
        server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
      });
    }
  });
});
