import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { IdSpace } from '../../src/id/id-space.js';
import type { Clock } from '../../src/runtime/clock.js';
import { PeerChannels } from '../../src/transport/grpc/peer-channels.js';
import { GrpcTransport } from '../../src/transport/grpc/grpc-transport.js';
import { GrpcCredentials } from '../../src/transport/grpc/tls.js';
import { freePorts } from '../helpers/processes.js';

function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  return { now: () => now, setTimeout: () => ({ cancel() {} }), advance: (ms) => (now += ms) };
}

class FakeChannel {
  closed = false;
  close(): void {
    this.closed = true;
  }
}

describe('transport - grpc - per-peer channels stay bounded', () => {
  it('closes channels idle longer than idleMs and keeps those in use', () => {
    const clock = manualClock();
    const channels = new PeerChannels<FakeChannel>({ idleMs: 1000, maxChannels: 100, clock });
    const peer = new FakeChannel();
    const departed = new FakeChannel();
    channels.set('peer:1', peer);
    channels.set('departed:1', departed);
    for (let t = 0; t < 5; t++) {
      clock.advance(400);
      assert.equal(channels.get('peer:1'), peer); // the routing state calls its peers every few rounds
    }
    assert.equal(departed.closed, true);
    assert.equal(peer.closed, false);
    assert.equal(channels.size, 1);
  });

  it('never closes a channel with calls in flight, idle or over the cap (a long answer on a peer connection)', () => {
    const clock = manualClock();
    const channels = new PeerChannels<FakeChannel & { inFlight: number }>({ idleMs: 1000, maxChannels: 2, clock });
    const answering = Object.assign(new FakeChannel(), { inFlight: 1 });
    channels.set('answering:1', answering);
    clock.advance(5000);
    channels.get('other:1');
    channels.set('a:1', Object.assign(new FakeChannel(), { inFlight: 0 }));
    channels.set('b:1', Object.assign(new FakeChannel(), { inFlight: 0 }));
    assert.equal(answering.closed, false);
    answering.inFlight = 0;
    clock.advance(5000);
    channels.get('other:1');
    assert.equal(answering.closed, true, 'closed once its answers are done and it stayed idle');
  });

  it('never holds more than maxChannels however many addresses it hears of', () => {
    const clock = manualClock();
    const channels = new PeerChannels<FakeChannel>({ idleMs: 60_000, maxChannels: 50, clock });
    const opened: FakeChannel[] = [];
    for (let i = 0; i < 5000; i++) {
      const addr = `forged-${i}:4000`;
      if (!channels.get(addr)) {
        const channel = new FakeChannel();
        opened.push(channel);
        channels.set(addr, channel);
      }
      assert.ok(channels.size <= 50);
    }
    assert.equal(opened.filter((c) => !c.closed).length, 50);
  });

  it('a node calling many departed peers over gRPC keeps only the recent channels', async () => {
    const clock = manualClock();
    const transport = new GrpcTransport(new IdSpace(66), GrpcCredentials.PLAINTEXT, { idleMs: 10_000, maxChannels: 8, clock });
    after(() => transport.close());
    // Ports nobody listens on: every call is refused, as calls to departed nodes are.
    const ports = await freePorts(20);
    for (const port of ports) {
      await assert.rejects(transport.call(`127.0.0.1:${port}`, 'ping', {}, { signal: AbortSignal.timeout(5000) }), { code: 'ERR_UNREACHABLE' });
      assert.ok(transport.channelCount <= 8, `${transport.channelCount} channels open`);
      clock.advance(1000);
    }
    clock.advance(10_000);
    await assert.rejects(transport.call(`127.0.0.1:${ports[0]}`, 'ping', {}, { signal: AbortSignal.timeout(5000) }));
    assert.equal(transport.channelCount, 1);
  });
});
