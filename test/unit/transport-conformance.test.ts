import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { DhtError, type ErrorCode } from '../../src/errors.js';
import { IdSpace } from '../../src/id/id-space.js';
import type { NodeRef } from '../../src/id/node-ref.js';
import type { LookupAnswer } from '../../src/routing/lookup.js';
import type { RouteStep } from '../../src/routing/route-step.js';
import type { CallContext, DhtMethod, Handler, Handlers } from '../../src/rpc/messages.js';
import { wallClock, type Clock } from '../../src/runtime/clock.js';
import { seededRng } from '../../src/runtime/rng.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { withDeadline } from '../../src/transport/deadline.js';
import { dhtCodecs } from '../../src/transport/grpc/codec.js';
import { createServer, dhtImplementation, listen } from '../../src/transport/grpc/grpc-server.js';
import { GrpcTransport } from '../../src/transport/grpc/grpc-transport.js';
import { services } from '../../src/transport/grpc/protos.js';
import { GrpcCredentials } from '../../src/transport/grpc/tls.js';
import { MemoryNetwork } from '../../src/transport/memory/memory-network.js';
import type { Transport } from '../../src/transport/transport.js';
import { freePorts } from '../helpers/processes.js';

const ids = new IdSpace(16);

/** One transport as the node code sees it, with a peer whose handlers each case sets. */
interface Harness {
  readonly transport: Transport;
  readonly clock: Clock;
  /** The peer's address: it serves whatever `handle` last installed. */
  readonly peer: string;
  /** An address nobody serves. */
  readonly nobody: string;
  handle<M extends DhtMethod>(method: M, handler: Handler<M>): void;
  /** Waits for `work`, running the clock where it is virtual. */
  settle<T>(work: Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The peer's handlers, looked up at each call, so that each case installs its own; one a case did not install fails it. */
function peerHandlers(): { handlers: Handlers; handle: Harness['handle'] } {
  const installed = new Map<string, (req: unknown, ctx: CallContext) => Promise<unknown>>();
  const methods = Object.keys(dhtCodecs(ids));
  const dispatch = (method: string) => (req: unknown, ctx: CallContext) => {
    const handler = installed.get(method);
    return handler ? handler(req, ctx) : assert.fail(`the peer was not meant to receive ${method}`);
  };
  return {
    handlers: Object.fromEntries(methods.map((m) => [m, dispatch(m)])) as unknown as Handlers,
    handle: (method, handler) => void installed.set(method, handler as (req: unknown, ctx: CallContext) => Promise<unknown>),
  };
}

async function grpcHarness(): Promise<Harness> {
  const { handlers, handle } = peerHandlers();
  const server: grpc.Server = createServer();
  server.addService(services().dht.service, dhtImplementation(handlers, ids));
  const port = await listen(server, '127.0.0.1', 0, GrpcCredentials.PLAINTEXT);
  const [free] = await freePorts(1);
  const transport = new GrpcTransport(ids, GrpcCredentials.PLAINTEXT);
  return {
    transport,
    clock: wallClock,
    peer: `127.0.0.1:${port}`,
    nobody: `127.0.0.1:${free}`,
    handle,
    settle: (work) => work,
    close: async () => {
      transport.close();
      server.forceShutdown();
    },
  };
}

async function memoryHarness(): Promise<Harness> {
  const { handlers, handle } = peerHandlers();
  const clock = new VirtualClock();
  const network = new MemoryNetwork(clock, seededRng(1), { ids, latencyMs: () => 5, lossRate: 0 });
  await network.listener('peer:1').listen(handlers);
  return {
    transport: network.transport('caller:1'),
    clock,
    peer: 'peer:1',
    nobody: 'nobody:1',
    handle,
    settle: (work) => clock.complete(work),
    close: async () => {},
  };
}

const node = (id: number, addr: string): NodeRef => ({ id: BigInt(id), addr });

/** A handler that answers only when its call is abandoned, and says when it was reached. */
function silentPeer(): { reached: Promise<void>; handler: Handler<'ping'> } {
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const handler: Handler<'ping'> = ({}, { signal }) => {
    reach();
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  };
  return { reached, handler };
}

for (const [name, start] of [
  ['gRPC over loopback', grpcHarness],
  ['memory network', memoryHarness],
] as const) {
  describe(`transport conformance - ${name}`, () => {
    let h: Harness;
    before(async () => {
      h = await start();
    });
    after(() => h.close());

    it('a call reaches the handler and returns its answer', async () => {
      const answer: LookupAnswer = { owner: node(7, 'owner:1'), predecessor: node(5, 'pred:1'), successors: [node(7, 'owner:1'), node(9, 'next:1')], hops: 3 };
      const asked: bigint[] = [];
      h.handle('lookup', async ({ key }) => {
        asked.push(key);
        return answer;
      });
      assert.deepEqual(await h.settle(h.transport.call(h.peer, 'lookup', { key: 6n })), answer);
      assert.deepEqual(asked, [6n]);

      const step: RouteStep = { done: false, hop: 'debruijn', candidates: [node(300, 'c:1')], carry: { i: 0xabcn, kshift: 0x1200n }, shifts: 2, imaginary: 0xbcdn, successors: [node(20, 's:1')] };
      h.handle('findNext', async ({ key, carry }) => {
        assert.equal(key, 0xffffn);
        assert.deepEqual(carry, { i: 1n, kshift: 2n });
        return step;
      });
      assert.deepEqual(await h.settle(h.transport.call(h.peer, 'findNext', { key: 0xffffn, carry: { i: 1n, kshift: 2n } })), step);
    });

    for (const code of ['ERR_NOT_FOUND', 'ERR_NOT_OWNER', 'ERR_NOT_READY', 'ERR_INVALID_ARGUMENT'] as ErrorCode[]) {
      it(`a handler's ${code} arrives with the same code`, async () => {
        h.handle('storeGet', async () => {
          throw new DhtError(code, 'as the handler put it');
        });
        await assert.rejects(h.settle(h.transport.call(h.peer, 'storeGet', { key: 'k' })), (err: unknown) => err instanceof DhtError && err.code === code);
      });
    }

    it("a handler's own bug arrives as the peer's ERR_INTERNAL", async () => {
      h.handle('ping', async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'id')");
      });
      await assert.rejects(h.settle(h.transport.call(h.peer, 'ping', {})), (err: unknown) => err instanceof DhtError && err.code === 'ERR_INTERNAL');
    });

    it('an address nobody serves rejects with ERR_UNREACHABLE', async () => {
      await assert.rejects(h.settle(h.transport.call(h.nobody, 'ping', {})), { code: 'ERR_UNREACHABLE' });
    });

    it("an aborted signal rejects at once with the signal's reason, without waiting for the peer", async () => {
      const { reached, handler } = silentPeer();
      h.handle('ping', handler);
      const controller = new AbortController();
      const call = h.transport.call(h.peer, 'ping', {}, { signal: controller.signal });
      call.catch(() => {}); // asserted below, once the peer holds the call
      await h.settle(reached);
      const reason = new DhtError('ERR_ABORTED', 'the caller gave up');
      controller.abort(reason);
      // Not settled through the clock: the rejection needs neither the peer nor time to pass.
      await assert.rejects(call, (err) => err === reason);
    });

    it('a signal that has already aborted rejects with its reason and sends nothing', async () => {
      h.handle('ping', async () => assert.fail('a call whose signal had aborted was sent'));
      const reason = new DhtError('ERR_ABORTED', 'shutting down');
      await assert.rejects(h.transport.call(h.peer, 'ping', {}, { signal: AbortSignal.abort(reason) }), (err) => err === reason);
    });

    it('a peer that stays silent past the deadline rejects with ERR_TIMEOUT', async () => {
      h.handle('ping', silentPeer().handler);
      const withTimeout = withDeadline(h.transport, h.clock, 300);
      await assert.rejects(h.settle(withTimeout.call(h.peer, 'ping', {})), { code: 'ERR_TIMEOUT' });
    });

    it('a malformed request gets ERR_INVALID_ARGUMENT and never reaches the handler', async () => {
      h.handle('notify', async () => assert.fail('a malformed notify reached the handler'));
      const outsideTheRing = { node: { id: 1n << 20n, addr: 'joiner:1' } };
      await assert.rejects(h.settle(h.transport.call(h.peer, 'notify', outsideTheRing)), { code: 'ERR_INVALID_ARGUMENT' });
      const noAddress = { node: { id: 5n, addr: 'not an address' } };
      await assert.rejects(h.settle(h.transport.call(h.peer, 'notify', noAddress)), { code: 'ERR_INVALID_ARGUMENT' });
    });
  });
}
